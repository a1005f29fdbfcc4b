"""The wire, declared once for server, SDK, tests and docs: `rest` (REST bodies, API.md),
`messages` and `codecs` (the `/ws` websocket, docs/protocol.md)."""
