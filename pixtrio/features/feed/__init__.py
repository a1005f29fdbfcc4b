"""The home feed: fan-out into timelines and reading a page."""
