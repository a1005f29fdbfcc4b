"""Keeping blocked content out: the perceptual-hash blocklist."""
