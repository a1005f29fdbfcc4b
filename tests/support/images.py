"""Test images made on the fly (never binary fixtures): real encoders, real EXIF."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image, ImageDraw, TiffImagePlugin


def photo(width: int, height: int) -> Image.Image:
    """A picture with gradients and detail, so encoders have real work."""
    gradient = Image.linear_gradient("L").resize((width, height))
    noise = Image.effect_noise((width, height), 40)
    return Image.merge("RGB", (gradient, noise, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))


def jpeg(width: int, height: int, *, orientation: int | None = None, gps: bool = False,
         camera: bool = False, quality: int = 90) -> bytes:
    """A JPEG, optionally with EXIF orientation, a GPS block and camera/date tags."""
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    if camera:
        exif[0x010F] = "Pixtrio Optics"
        exif[0x0110] = "Model P-1"
        exif.get_ifd(0x8769)[0x9003] = "2024:05:01 12:30:00"  # DateTimeOriginal
    if gps:
        gps_ifd = exif.get_ifd(0x8825)
        gps_ifd[1] = "N"
        gps_ifd[2] = (TiffImagePlugin.IFDRational(48), TiffImagePlugin.IFDRational(51),
                      TiffImagePlugin.IFDRational(29))
        gps_ifd[3] = "E"
        gps_ifd[4] = (TiffImagePlugin.IFDRational(2), TiffImagePlugin.IFDRational(17),
                      TiffImagePlugin.IFDRational(40))
    out = io.BytesIO()
    photo(width, height).save(out, "JPEG", quality=quality, exif=exif.tobytes())
    return out.getvalue()


def png(width: int, height: int, *, alpha: bool = False) -> bytes:
    out = io.BytesIO()
    image = photo(width, height)
    if alpha:
        image.putalpha(Image.linear_gradient("L").resize((width, height)))
    image.save(out, "PNG")
    return out.getvalue()


def png_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A PNG whose header claims width×height pixels but whose data is tiny and bogus."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (1 + 3 * 1000) * 10)  # a few rows; the rest is missing
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HTML = b"<!doctype html><html><script>alert(1)</script></html>"


WORDS = ("harbour", "sunset", "market", "42", "tram", "garden", "Pixtrio", "north", "coffee")


def scene(seed: int, width: int = 640, height: int = 480) -> Image.Image:
    """A varied, deterministic synthetic photo: a coloured gradient, soft blobs, shapes,
    a few words and sensor-like noise, all chosen by `seed`."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * x + np.sin(angle) * y
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    low, high = rng.uniform(0, 255, (2, 3))
    pixels = low + (high - low) * ramp[..., None]
    for _ in range(rng.integers(2, 6)):  # soft blobs of light and shade
        cx, cy, radius = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.05, 0.4)
        blob = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * radius ** 2))
        pixels += blob[..., None] * rng.uniform(-120, 120, 3)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(rng.integers(3, 12)):
        box = sorted(rng.integers(0, width, 2).tolist()), sorted(rng.integers(0, height, 2).tolist())
        xy = (box[0][0], box[1][0], box[0][1], box[1][1])
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        shape = rng.integers(0, 3)
        if shape == 0:
            draw.rectangle(xy, fill=fill)
        elif shape == 1:
            draw.ellipse(xy, fill=fill)
        else:
            draw.line(xy, fill=fill, width=int(rng.integers(2, 12)))
    for _ in range(rng.integers(0, 4)):
        at = (int(rng.integers(0, width - 60)), int(rng.integers(0, height - 20)))
        draw.text(at, str(rng.choice(WORDS)), fill=tuple(int(v) for v in rng.integers(0, 256, 3)),
                  font_size=int(rng.integers(12, 48)))
    noisy = np.asarray(image, dtype=np.float32) + rng.normal(0, rng.uniform(0, 12), (height, width, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")


def encoded(image: Image.Image, fmt: str = "JPEG", **options: int) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()
