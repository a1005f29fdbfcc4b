"""Test images made on the fly (never binary fixtures): real encoders, real EXIF."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, TiffImagePlugin


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
