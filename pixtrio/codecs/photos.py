"""Photo and avatar variants, made inside a worker process set up by `configure_worker`.

Everything here is blocking, CPU-heavy work: call it through a trio-parallel worker
context whose `init` is `configure_worker`, never on the event loop's thread.
Sources are trusted paths chosen by the server; their *contents* are not trusted.

libvips does everything that touches untrusted bytes (allow-listed loaders, header
checks, shrink-on-load) and the resizing of each size, one pass per size. The finished
pixels are handed to Pillow's encoders, which never parse input: its wheels ship faster
codec builds than pyvips-binary's (the same WebP bytes 12 % sooner, AVIF in 15 % less
time). Pillow also makes the 20 px placeholder from the smallest size.
"""

from __future__ import annotations

import base64
import ctypes
import io
import math
import os
import re
import resource
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import blurhash
import pyvips
from PIL import Image, ImageFilter

from pixtrio.codecs.pdq import HASH_BOX, MIN_SIDE, PdqHashes, crop_hashes, hash_image

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
_M_ARENA_MAX = -8  # mallopt parameters, from glibc's <malloc.h>
_M_MMAP_THRESHOLD = -3
_M_TRIM_THRESHOLD = -1
_MALLOC_KEEP = 32 << 20

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
    pdq: PdqHashes
    """The PDQ hashes of the photo as decoded (see `pdq`)."""


def configure_worker(memory_limit_bytes: int) -> None:
    """Set up this worker process for image work: the trio-parallel `init`.

    Caps the address space at `memory_limit_bytes` (a hostile image then fails with an
    error instead of eating the machine), runs libvips on one thread with no operation
    cache, and lets only the JPEG, PNG, WebP, HEIF and GIF loaders run at all.
    """
    _tune_malloc()
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
        image, pixels = _decode(source, header, PHOTO_BOXES[0][1:], crop=False)
        largest = pixels.size
        hashes = hash_image(image)
        variants = {}
        for label, width, height in PHOTO_BOXES:
            image, pixels = _fit(image, pixels, width, height)
            variants[label] = _save_variants(pixels, out_dir, label, formats)
    tiny = _tiny(pixels)
    return PhotoResult(
        width=largest[0],
        height=largest[1],
        variants=variants,
        placeholder=_placeholder(tiny),
        blurhash=_blurhash(tiny),
        taken_at=_taken_at(header),
        camera_make=_exif_text(header, "exif-ifd0-Make"),
        camera_model=_exif_text(header, "exif-ifd0-Model"),
        pdq=hashes,
    )


def make_avatar(source: str, out_dir: str) -> tuple[dict[str, dict[str, str]], PdqHashes]:
    """Write square, centre-cropped avatars of `source` into `out_dir`, created if needed.

    Returns size label ("320", "150") → format ("webp", "jpeg") → file name, and the PDQ
    hashes of the square as shown. Each avatar is exactly that many pixels square (a
    smaller source is scaled up); EXIF orientation applied, no metadata kept. Raises
    MediaRejected like `process_photo`.
    """
    header = _open_header(source)
    os.makedirs(out_dir, exist_ok=True)
    with _rejecting_vips_errors(source):
        image, pixels = _decode(source, header, (AVATAR_SIZES[0], AVATAR_SIZES[0]), crop=True)
        hashes = hash_image(image)
        variants = {}
        for side in AVATAR_SIZES:
            if pixels.size != (side, side):
                image, pixels = _compute(
                    image.thumbnail_image(side, height=side, crop="centre", size="both"))
            variants[str(side)] = _save_variants(pixels, out_dir, str(side), ("webp", "jpeg"))
    return variants, hashes


def hash_photo(source: str) -> PdqHashes | None:
    """The PDQ hashes of the image file `source`, decoded as `process_photo` decodes it,
    with those of its slight crops (for a blocklist entry); None if it is smaller than
    `MIN_SIDE` on a side. Raises MediaRejected like `process_photo`."""
    header = _open_header(source)
    if min(header.width, header.height) < MIN_SIDE:
        return None
    with _rejecting_vips_errors(source):
        image, _ = _decode(source, header, (HASH_BOX, HASH_BOX), crop=False)
        return replace(hash_image(image), crops=crop_hashes(image))


def _tune_malloc() -> None:
    """Tune glibc's malloc for this worker (its MALLOC_* variables are read too early to set).

    Caps the per-thread arenas at two: each reserves 64 MiB of address space, which counts
    against RLIMIT_AS. And keeps freed blocks of up to `_MALLOC_KEEP` for the next photo
    instead of handing them back to the kernel: each photo's buffers were otherwise mapped
    afresh, ~1,800 page faults and ~5 % of a photo's time.
    """
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # absent outside glibc
    if mallopt is not None:
        mallopt(_M_ARENA_MAX, 2)
        mallopt(_M_MMAP_THRESHOLD, _MALLOC_KEEP)
        mallopt(_M_TRIM_THRESHOLD, _MALLOC_KEEP)


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
) -> tuple[pyvips.Image, Image.Image]:
    """Decode `source` once, streaming, into an upright 8-bit sRGB image in memory (see
    `_compute`).

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
    image, pixels = _compute(_to_srgb(image))  # the one pass over the file
    if image.bands == 4 and image.extract_band(3).min() >= 255:
        image, pixels = _compute(image.extract_band(0, n=3))  # opaque alpha: just a cost
    return image, pixels


def _fit(
    image: pyvips.Image, pixels: Image.Image, width: int, height: int,
) -> tuple[pyvips.Image, Image.Image]:
    """`image` (whose pixels are `pixels`) scaled down to fit inside width × height, as
    `_compute` gives it; the same pair if it already fits."""
    if image.width <= width and image.height <= height:
        return image, pixels
    return _compute(image.thumbnail_image(width, height=height, size="down"))


def _compute(image: pyvips.Image) -> tuple[pyvips.Image, Image.Image]:
    """Run `image`'s pipeline (8-bit sRGB, maybe with alpha) once, into one buffer: that
    buffer as a libvips image to go on from, and as a Pillow image ("RGB" or "RGBA").

    One libvips pass per size matters: each costs hundreds of hand-offs between the
    calling thread and libvips' worker, and `copy_memory` then `write_to_memory` were two.
    """
    data = image.write_to_memory()
    size = (image.width, image.height)
    mode = "RGBA" if image.bands == 4 else "RGB"
    computed = pyvips.Image.new_from_memory(data, *size, image.bands, image.format)
    return computed, Image.frombuffer(mode, size, data, "raw", mode, 0, 1)


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


def _on_white(pixels: Image.Image) -> Image.Image:
    """`pixels` ("RGB" or "RGBA") as RGB: any alpha composed onto white."""
    if pixels.mode != "RGBA":
        return pixels
    white = Image.new("RGB", pixels.size, (255, 255, 255))
    white.paste(pixels, mask=pixels.getchannel("A"))
    return white


def _save_variants(
    pixels: Image.Image, out_dir: str, label: str, formats: tuple[str, ...],
) -> dict[str, str]:
    """Write `pixels` ("RGB" or "RGBA") as `<label>.<format>` for each of `formats`
    ("webp", "jpeg", "avif"), alpha composed onto white in JPEG; returns format → file name.

    Only the pixels reach Pillow's encoders, so no metadata at all is written.
    """
    names = {}
    for fmt in formats:
        if fmt == "jpeg":
            data = _pillow_encode(_on_white(pixels), "JPEG", JPEG_OPTIONS)
        else:
            data = _pillow_encode(pixels, fmt.upper(), AVIF_OPTIONS if fmt == "avif"
                                  else WEBP_OPTIONS)
        name = f"{label}.{fmt}"
        _write_atomic(out_dir, name, data)
        names[fmt] = name
    return names


def _pillow_encode(image: Image.Image, fmt: str, options: Mapping[str, int | bool]) -> bytes:
    """`image` encoded with Pillow's `fmt` encoder."""
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _write_atomic(directory: str, name: str, data: bytes) -> None:
    """Replace `directory/name` with `data` in one step: readers see old or new, never half.

    The temporary name carries the process id: a worker process runs one job at a time.
    """
    temp = os.path.join(directory, f".{name}.{os.getpid()}.tmp")
    try:
        with open(temp, "wb") as file:
            file.write(data)
        os.replace(temp, os.path.join(directory, name))
    except BaseException:
        os.unlink(temp)
        raise


def _tiny(pixels: Image.Image) -> Image.Image:
    """`pixels` (the smallest variant) scaled to fit `PLACEHOLDER_BOX`, as RGB on white.

    Pillow, not libvips, does this and the blur: for 300 pixels, building libvips' resize
    and blur operations took ~3 ms, some 30 times the work itself.
    """
    scale = min(1.0, PLACEHOLDER_BOX / max(pixels.size))
    size = (max(1, round(pixels.width * scale)), max(1, round(pixels.height * scale)))
    return _on_white(pixels.resize(size, Image.Resampling.LANCZOS))  # premultiplies alpha


def _placeholder(tiny: Image.Image) -> str:
    """A data URI of `tiny`, slightly blurred."""
    blurred = tiny.filter(ImageFilter.GaussianBlur(PLACEHOLDER_BLUR))
    data = _pillow_encode(blurred, "WEBP", PLACEHOLDER_WEBP_OPTIONS)
    return "data:image/webp;base64," + base64.b64encode(data).decode("ascii")


def _blurhash(tiny: Image.Image) -> str:
    """The 4×4 BlurHash of `tiny`, an RGB image."""
    pixels, width = tiny.tobytes(), tiny.width
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

