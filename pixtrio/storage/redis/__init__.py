"""Redis-protocol storage: key names, the client, scripts and the embedded Valkey server."""
