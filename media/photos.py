"""Photo and avatar variants, made inside a worker process set up by `configure_worker`.

Everything here is blocking, CPU-heavy work: call it through a trio-parallel worker
context whose `init` is `configure_worker`, never on the event loop's thread.
Sources are trusted paths chosen by the server; their *contents* are not trusted.

libvips does everything that touches untrusted bytes (allow-listed loaders, header
checks, shrink-on-load) and all resizing. The finished pixels are handed to Pillow's
encoders, which never parse input: its wheels ship faster codec builds than
pyvips-binary's (the same WebP bytes 12 % sooner, AVIF in 15 % less time).
"""

from __future__ import annotations

import base64
import ctypes
import io
import math
import os
import re
import resource
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import blurhash
import pyvips
from PIL import Image

MAX_PIXELS = 100_000_000
"""Images with more pixels than this are refused from their header, before any decoding."""

PHOTO_BOXES: tuple[tuple[str, int, int], ...] = (
    ("1080", 1080, 1350), ("640", 640, 800), ("320", 320, 400),
)
"""(label, width, height): each photo variant fits its box, largest first."""

AVATAR_SIZES: tuple[int, ...] = (320, 150)
"""Side of each square avatar variant, largest first."""

PLACEHOLDER_BOX = 20
"""The placeholder fits a PLACEHOLDER_BOX × PLACEHOLDER_BOX square."""

ALLOWED_LOADERS = frozenset({
    "jpegload_source", "pngload_source", "webpload_source", "heifload_source",
    "gifload_source",
})
"""The libvips loaders (as reported in `vips-loader`) whose output we accept."""

_ALLOWED_LOADER_CLASSES = (
    "VipsForeignLoadJpeg", "VipsForeignLoadPng", "VipsForeignLoadWebp",
    "VipsForeignLoadHeif", "VipsForeignLoadNsgif",
)
_M_ARENA_MAX = -8  # from glibc's <malloc.h>

WEBP_OPTIONS: dict[str, int] = {"quality": 80, "method": 2}
"""Pillow's WebP encoder options (`method` is libwebp's effort, 0-6)."""
JPEG_OPTIONS: dict[str, int | bool] = {"quality": 82, "optimize": False}
"""JPEG is the fallback for the few clients without WebP: optimising its Huffman tables
costs ~9 ms a photo (~6 % of the pipeline) to save ~2 % of bytes few clients download."""
AVIF_OPTIONS: dict[str, int] = {"quality": 55, "speed": 9, "max_threads": 1}
"""Pillow's AVIF encoder options: one thread, like libvips in these workers."""
PLACEHOLDER_WEBP_OPTIONS: dict[str, int] = {"quality": 40, "method": 4}
PLACEHOLDER_BLUR = 0.7
"""Gaussian sigma, in pixels of the tiny image, applied before encoding the placeholder."""
_WHITE = [255.0, 255.0, 255.0]
_ROTATED_ORIENTATIONS = frozenset({5, 6, 7, 8})  # EXIF orientations that swap width and height
_EXIF_ASCII = re.compile(r"(?P<value>.*) \((?P=value), ASCII, \d+ components, \d+ bytes\)", re.S)
_EXIF_TEXT_MAX = 100


class MediaRejected(Exception):
    """The upload cannot be made into a photo; `reason` says why, for its author."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PhotoResult:
    """What `process_photo` made; plain values, so it pickles across the process boundary."""

    width: int
    """Of the largest variant, after EXIF orientation."""
    height: int
    variants: dict[str, dict[str, str]]
    """Size label ("1080", "640", "320") → format ("webp", "jpeg", "avif") → file name."""
    placeholder: str
    """A `data:image/webp;base64,...` URI of a tiny blurred version (a few hundred bytes)."""
    blurhash: str
    """A 4×4-component BlurHash."""
    taken_at: str | None
    """RFC 3339 UTC, from EXIF DateTimeOriginal (taken as UTC when it has no offset)."""
    camera_make: str | None
    camera_model: str | None


def configure_worker(memory_limit_bytes: int) -> None:
    """Set up this worker process for image work: the trio-parallel `init`.

    Caps the address space at `memory_limit_bytes` (a hostile image then fails with an
    error instead of eating the machine), runs libvips on one thread with no operation
    cache, and lets only the JPEG, PNG, WebP, HEIF and GIF loaders run at all.
    """
    _limit_malloc_arenas()
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = memory_limit_bytes if hard == resource.RLIM_INFINITY else min(memory_limit_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    pyvips.concurrency_set(1)
    pyvips.cache_set_max(0)
    pyvips.cache_set_max_mem(0)
    pyvips.cache_set_max_files(0)
    pyvips.block_untrusted_set(True)
    pyvips.operation_block_set("VipsForeignLoad", True)
    for name in _ALLOWED_LOADER_CLASSES:
        pyvips.operation_block_set(name, False)


def process_photo(source: str, out_dir: str, *, avif: bool = True) -> PhotoResult:
    """Write the photo variants of the image file `source` into `out_dir`, created if needed.

    Three sizes (`PHOTO_BOXES`, each made from the one before, never scaled up), each as
    WebP, JPEG and (if `avif`) AVIF, named like `1080.webp`; EXIF orientation applied,
    8-bit sRGB, alpha flattened onto white in JPEG, no metadata kept. Each file is replaced
    atomically, so running again on the same input is harmless.
    Raises MediaRejected if `source` is not an allowed, readable image of at most
    `MAX_PIXELS` pixels; files already written are left for the caller to clean up.
    """
    header = _open_header(source)
    formats = ("webp", "jpeg", "avif") if avif else ("webp", "jpeg")
    os.makedirs(out_dir, exist_ok=True)
    with _rejecting_vips_errors(source):
        largest = image = _decode(source, header, PHOTO_BOXES[0][1:], crop=False)
        variants = {}
        for label, width, height in PHOTO_BOXES:
            image = _fit(image, width, height)
            variants[label] = _save_variants(image, out_dir, label, formats)
        tiny = _flatten(_fit(image, PLACEHOLDER_BOX, PLACEHOLDER_BOX))
        placeholder = _placeholder(tiny)
    return PhotoResult(
        width=largest.width,
        height=largest.height,
        variants=variants,
        placeholder=placeholder,
        blurhash=_blurhash(tiny),
        taken_at=_taken_at(header),
        camera_make=_exif_text(header, "exif-ifd0-Make"),
        camera_model=_exif_text(header, "exif-ifd0-Model"),
    )


def make_avatar(source: str, out_dir: str) -> dict[str, dict[str, str]]:
    """Write square, centre-cropped avatars of `source` into `out_dir`, created if needed.

    Returns size label ("320", "150") → format ("webp", "jpeg") → file name. Each avatar
    is exactly that many pixels square (a smaller source is scaled up); EXIF orientation
    applied, no metadata kept. Raises MediaRejected like `process_photo`.
    """
    header = _open_header(source)
    os.makedirs(out_dir, exist_ok=True)
    with _rejecting_vips_errors(source):
        image = _decode(source, header, (AVATAR_SIZES[0], AVATAR_SIZES[0]), crop=True)
        variants = {}
        for side in AVATAR_SIZES:
            image = image.thumbnail_image(side, height=side, crop="centre", size="both")
            variants[str(side)] = _save_variants(image.copy_memory(), out_dir, str(side),
                                                 ("webp", "jpeg"))
    return variants


def _limit_malloc_arenas() -> None:
    """Cap glibc's per-thread malloc arenas (MALLOC_ARENA_MAX is read too early to set).

    Each arena reserves 64 MiB of address space, which counts against RLIMIT_AS.
    """
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # absent outside glibc
    if mallopt is not None:
        mallopt(_M_ARENA_MAX, 2)


def _open_header(source: str) -> pyvips.Image:
    """The image's header (no pixels decoded), once it passed the loader and size checks."""
    with _rejecting_vips_errors(source):
        header = pyvips.Image.new_from_source(pyvips.Source.new_from_file(source), "")
    if header.get("vips-loader") not in ALLOWED_LOADERS:
        raise MediaRejected("the file is not a JPEG, PNG, WebP, HEIC or GIF image")
    if header.width * header.height > MAX_PIXELS:
        raise MediaRejected(f"the image is larger than {MAX_PIXELS // 1_000_000} megapixels")
    return header


def _decode(
    source: str, header: pyvips.Image, box: tuple[int, int], *, crop: bool,
) -> pyvips.Image:
    """Decode `source` once, streaming, into an upright 8-bit sRGB image in memory.

    Without `crop` the result fits inside `box` (never scaled up); with `crop` it is
    exactly `box`, scaled to cover it and cut from the centre. JPEGs are shrunk while
    decoding (DCT scaling) as far as still leaves that size whole.
    """
    options: dict[str, int] = {}
    if header.get("vips-loader") == "jpegload_source":
        options["shrink"] = _jpeg_shrink(header, box, crop=crop)
    image = pyvips.Image.new_from_source(
        pyvips.Source.new_from_file(source), "", access="sequential", fail_on="error", **options,
    )
    width, height = box
    image = image.thumbnail_image(width, height=height, size="both" if crop else "down",
                                  crop="centre" if crop else "none")
    image = _to_srgb(image).copy_memory()  # the one pass over the file
    if image.bands == 4 and image.extract_band(3).min() >= 255:
        image = image.extract_band(0, n=3).copy_memory()  # opaque alpha: just a cost
    return image


def _fit(image: pyvips.Image, width: int, height: int) -> pyvips.Image:
    """`image` scaled down to fit inside width × height; itself if it already fits."""
    if image.width <= width and image.height <= height:
        return image
    return image.thumbnail_image(width, height=height, size="down").copy_memory()


def _jpeg_shrink(header: pyvips.Image, box: tuple[int, int], *, crop: bool) -> int:
    """The largest JPEG shrink-on-load factor that still leaves the target size whole."""
    width, height = header.width, header.height
    box_w, box_h = box
    if _orientation(header) in _ROTATED_ORIENTATIONS:
        box_w, box_h = box_h, box_w  # the file's pixels are stored on their side
    pick = max if crop else min
    scale = min(1.0, pick(box_w / width, box_h / height))
    target_w, target_h = math.floor(width * scale), math.floor(height * scale)
    for shrink in (8, 4, 2):
        if -(-width // shrink) >= target_w and -(-height // shrink) >= target_h:
            return shrink
    return 1


def _to_srgb(image: pyvips.Image) -> pyvips.Image:
    """`image` as 8-bit sRGB, with its alpha if any, without an ICC profile attached."""
    if image.interpretation != "srgb" or image.format != "uchar" or image.bands not in (3, 4):
        image = image.colourspace("srgb")  # greyscale, 16-bit, CMYK, Lab, ...
    if image.format != "uchar":
        image = image.cast("uchar")
    image = image.copy()
    if image.get_typeof("icc-profile-data"):
        image.remove("icc-profile-data")  # the pixels are sRGB now; don't convert again
    return image


def _flatten(image: pyvips.Image) -> pyvips.Image:
    """`image` without alpha, composed onto white."""
    return image.flatten(background=_WHITE) if image.hasalpha() else image


def _save_variants(
    image: pyvips.Image, out_dir: str, label: str, formats: tuple[str, ...],
) -> dict[str, str]:
    """Write `image` (8-bit sRGB, maybe with alpha) as `<label>.<format>` for each of
    `formats` ("webp", "jpeg", "avif"); returns format → file name.

    Only the pixels cross over to Pillow's encoders, so no metadata at all is written.
    """
    pixels = _to_pillow(image)
    opaque = pixels if not image.hasalpha() else None
    names = {}
    for fmt in formats:
        if fmt == "jpeg":
            opaque = opaque or _to_pillow(_flatten(image))
            data = _pillow_encode(opaque, "JPEG", JPEG_OPTIONS)
        else:
            data = _pillow_encode(pixels, fmt.upper(), AVIF_OPTIONS if fmt == "avif"
                                  else WEBP_OPTIONS)
        name = f"{label}.{fmt}"
        _write_atomic(out_dir, name, data)
        names[fmt] = name
    return names


def _to_pillow(image: pyvips.Image) -> Image.Image:
    """The pixels of `image`, an 8-bit sRGB(A) image, as a Pillow image ("RGBX" or "RGBA").

    Pillow keeps RGB as four bytes a pixel, so padding in libvips lets it use the buffer
    as it is instead of unpacking it (saving ~1 ms a megapixel).
    """
    mode = "RGBA" if image.hasalpha() else "RGBX"
    if not image.hasalpha():
        image = image.bandjoin_const([255])
    return Image.frombuffer(mode, (image.width, image.height), image.write_to_memory(),
                            "raw", mode, 0, 1)


def _pillow_encode(image: Image.Image, fmt: str, options: Mapping[str, int | bool]) -> bytes:
    """`image` encoded with Pillow's `fmt` encoder."""
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _write_atomic(directory: str, name: str, data: bytes) -> None:
    """Replace `directory/name` with `data` in one step: readers see old or new, never half."""
    fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            os.fchmod(file.fileno(), 0o644)
            file.write(data)
        os.replace(temp, os.path.join(directory, name))
    except BaseException:
        os.unlink(temp)
        raise


def _placeholder(tiny: pyvips.Image) -> str:
    """A data URI of `tiny`, slightly blurred."""
    blurred = _to_pillow(tiny.gaussblur(PLACEHOLDER_BLUR))
    data = _pillow_encode(blurred, "WEBP", PLACEHOLDER_WEBP_OPTIONS)
    return "data:image/webp;base64," + base64.b64encode(data).decode("ascii")


def _blurhash(tiny: pyvips.Image) -> str:
    """The 4×4 BlurHash of `tiny`, an 8-bit sRGB image without alpha."""
    pixels, width = tiny.write_to_memory(), tiny.width
    rows = [
        [list(pixels[i:i + 3]) for i in range(start, start + 3 * width, 3)]
        for start in range(0, len(pixels), 3 * width)
    ]
    return str(blurhash.encode(rows, 4, 4))


def _orientation(header: pyvips.Image) -> int:
    return int(header.get("orientation")) if header.get_typeof("orientation") else 1


def _exif_text(header: pyvips.Image, field: str) -> str | None:
    """An EXIF ASCII tag as libvips parsed it, tidied; None if absent or empty."""
    if not header.get_typeof(field):
        return None
    match = _EXIF_ASCII.fullmatch(str(header.get(field)))
    if match is None:
        return None
    text = "".join(c for c in match["value"] if c.isprintable()).strip()
    return text[:_EXIF_TEXT_MAX] or None


def _taken_at(header: pyvips.Image) -> str | None:
    """EXIF DateTimeOriginal as RFC 3339 UTC, using OffsetTimeOriginal when present."""
    raw = _exif_text(header, "exif-ifd2-DateTimeOriginal")
    if raw is None:
        return None
    try:
        taken = datetime.strptime(raw[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None  # "0000:00:00 00:00:00" and other junk cameras write
    offset = _exif_text(header, "exif-ifd2-OffsetTimeOriginal")
    if offset and re.fullmatch(r"[+-]\d\d:\d\d", offset):
        sign = -1 if offset[0] == "-" else 1
        taken -= sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
    return taken.strftime("%Y-%m-%dT%H:%M:%SZ")


@contextmanager
def _rejecting_vips_errors(source: str) -> Iterator[None]:
    """Turn a libvips error inside the block into MediaRejected with a readable reason."""
    try:
        yield
    except pyvips.Error as exc:
        raise MediaRejected(_reason(exc, source)) from None


def _reason(exc: pyvips.Error, source: str) -> str:
    """What went wrong, for the post's author: no paths, no libvips class names."""
    lines = [line.strip() for line in str(exc.detail or exc.message).splitlines()]
    detail = next((line for line in reversed(lines) if line), "")
    if "not in a known format" in detail or "is not a known file format" in detail:
        return "the file is not a JPEG, PNG, WebP, HEIC or GIF image"
    detail = re.sub(r"^\w+: ", "", detail).replace(source, "the file")
    return f"the file is not a readable image: {detail[:200] or 'unknown error'}"

