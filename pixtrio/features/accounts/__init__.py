"""Accounts: registering, signing in, profiles, passwords and avatars."""
