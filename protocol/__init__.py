"""The wire: REST bodies and (later) websocket messages, declared once for server, SDK and docs."""
