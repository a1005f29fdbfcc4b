"""Likes: idempotent per user, counted in sharded Redis counters."""
