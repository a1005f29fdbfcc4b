"""Which media type an upload is, from its first bytes (never from its name or headers)."""

from __future__ import annotations

SNIFF_BYTES = 64
"""How many leading bytes `sniff_image` and `sniff_video` need to decide."""

_HEIC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})
_MP4_BRANDS = frozenset({
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"mp71",
    b"avc1", b"M4V ", b"M4VH", b"M4VP", b"dash", b"MSNV", b"XAVC", b"3gp4", b"3gp5",
    b"3gp6", b"3g2a", b"f4v ",
})
_QUICKTIME_BRANDS = frozenset({b"qt  "})
_QUICKTIME_FIRST_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})
"""Old QuickTime files may start without an `ftyp` box."""
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"


def sniff(head: bytes) -> str | None:
    """The MIME type of an image or video starting with `head`, or None (see below)."""
    return sniff_image(head) or sniff_video(head)


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


def sniff_video(head: bytes) -> str | None:
    """The MIME type of a video container starting with `head`, or None.

    Recognises MP4 (ISO-BMFF video brands), QuickTime (`qt  ` brand, or a file opening
    with a classic QuickTime atom) and WebM (EBML with the `webm` doctype; other Matroska
    files give None). Whether there is a playable video stream inside is for the probe.
    """
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _MP4_BRANDS:
            return "video/mp4"
        if brand in _QUICKTIME_BRANDS:
            return "video/quicktime"
        return None
    if head[4:8] in _QUICKTIME_FIRST_ATOMS:
        return "video/quicktime"
    if head.startswith(_EBML_MAGIC) and b"\x42\x82\x84webm" in head:  # DocType "webm"
        return "video/webm"
    return None
