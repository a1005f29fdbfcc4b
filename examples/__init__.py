"""Runnable examples of the bot SDK (`protocol.client`): `python -m examples.<name> --help`."""
