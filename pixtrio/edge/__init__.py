"""The edge: the listener, the HTTP app and its routes, the streaming body layer, authentication, the one mapping of errors to HTTP answers, and the websocket endpoint. Nothing else imports it."""
