"""Moderation: roles, reports, moderators' actions, suspension and their audit log."""
