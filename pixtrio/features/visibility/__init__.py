"""Who may see what: the one visibility rule (`rule`) and the service that loads what it
needs and applies it (`service`)."""
