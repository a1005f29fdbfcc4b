"""Which image type an upload is, from its first bytes (never from its name or headers)."""

from __future__ import annotations

SNIFF_BYTES = 32
"""How many leading bytes `sniff_image` needs to decide."""

_HEIC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})


def sniff_image(head: bytes) -> str | None:
    """The MIME type of an image starting with `head`, or None if it is not one we accept.

    Recognises JPEG, PNG, WebP, GIF, HEIC and HEIF by magic bytes only; anything else
    (SVG, PDF, HTML, ZIP, TIFF, AVIF, ...) or a `head` too short to tell gives None.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[4:8] == b"ftyp":
        brand = head[8:12]  # the major brand of the ISO-BMFF `ftyp` box
        if brand in _HEIC_BRANDS:
            return "image/heic"
        if brand in _HEIF_BRANDS:
            return "image/heif"
    return None
