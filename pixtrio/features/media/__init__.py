"""Media jobs: turning an uploaded original into renditions (photo and video jobs), and media keys."""
