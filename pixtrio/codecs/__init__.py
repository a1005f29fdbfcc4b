"""Media codecs: sniffing uploads, photo and avatar variants (libvips, Pillow), probing videos
(PyAV) and the FFmpeg rendition ladder. Pure functions run inside worker processes."""
