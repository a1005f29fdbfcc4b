"""Helpers that start real processes (the server, Valkey, Chromium), shared by tests/ and bench/. Never imported by the server."""
