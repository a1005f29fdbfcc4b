"""The image pipeline: sniffing, photo variants, avatars, hostile files, worker hardening.

Every test image is made here with pyvips (real encoders, real EXIF/XMP/IPTC blocks).
"""

from __future__ import annotations

import base64
import io
import pickle
import re
import resource
import struct
import time
import zipfile
import zlib
from functools import partial
from pathlib import Path

import pytest
import pyvips
import trio
import trio_parallel
from PIL import Image

from pixtrio.codecs.photos import (
    MAX_PIXELS,
    MediaRejected,
    PhotoResult,
    configure_worker,
    make_avatar,
    process_photo,
)
from pixtrio.codecs.sniff import SNIFF_BYTES, sniff_image

MAKE = "PixtrioCam (test)"  # parentheses: libvips wraps EXIF values in "v (v, ASCII, ...)"
MODEL = "P-1 Mark II"
GPS_MARK = "PIXTRIO-GPS"
XMP_MARK = "PIXTRIO-XMP"
IPTC_MARK = "PIXTRIO-IPTC"
FORBIDDEN = (b"Exif\x00\x00", b"http://ns.adobe.com/xap", MAKE.encode(), MODEL.encode(),
             GPS_MARK.encode(), XMP_MARK.encode(), IPTC_MARK.encode())
BLURHASH_CHARS = re.compile(r"[0-9A-Za-z#$%*+,\-.:;=?@\[\]^_{|}~]+")
PAYLOAD = b"<html><script>alert('PIXTRIO-PAYLOAD')</script></html>"


# -- making test images -----------------------------------------------------------------

def picture(width: int, height: int) -> pyvips.Image:
    """Gradients plus noise, so encoders have real work; 8-bit sRGB."""
    xyz = pyvips.Image.xyz(width, height)
    ramps = [xyz[0] * (255 / width), xyz[1] * (255 / height), (xyz[0] + xyz[1]) * (127 / width)]
    noise = pyvips.Image.gaussnoise(width, height, sigma=12, mean=0)
    return (ramps[0].bandjoin(ramps[1:]) + noise).cast("uchar").copy(interpretation="srgb")


def exif_blob(*, orientation: int = 1, offset: str | None = None) -> bytes:
    """A real EXIF block: IFD0 (make, model, orientation), Exif IFD (dates), GPS IFD."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = MAKE, MODEL, orientation
    dates = exif.get_ifd(0x8769)
    dates[0x9003] = "2024:05:01 12:30:00"  # DateTimeOriginal
    if offset is not None:
        dates[0x9011] = offset  # OffsetTimeOriginal
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (48.0, 51.0, 29.5)
    gps[3], gps[4] = "E", (2.0, 17.0, 40.0)
    gps[0x12] = GPS_MARK  # GPSMapDatum: a string to look for in the outputs
    return exif.tobytes()


def with_metadata(image: pyvips.Image, *, orientation: int = 1,
                  offset: str | None = None) -> pyvips.Image:
    """`image` carrying EXIF (with GPS), XMP and IPTC blocks for the saver to write."""
    image = image.copy()
    image.set_type(pyvips.GValue.blob_type, "exif-data", exif_blob(orientation=orientation, offset=offset))
    image.set_type(pyvips.GValue.blob_type, "xmp-data", (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf='
        '"http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:xmp='
        f'"http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="{XMP_MARK}"/></rdf:RDF></x:xmpmeta>'
    ).encode())
    iptc = b"\x1c\x02\x78" + struct.pack(">H", len(IPTC_MARK)) + IPTC_MARK.encode()
    image.set_type(pyvips.GValue.blob_type, "iptc-data",
                   b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(iptc)) + iptc)
    return image


def png_bomb(path: Path, side: int = 50_000) -> None:
    """A valid 1-bit greyscale PNG of side × side zero pixels, a few hundred KB on disk.

    The zlib stream is one compressed block of zero rows, full-flushed so it can simply
    be repeated; the Adler-32 of n zero bytes is ((n mod 65521) << 16) | 1.
    """
    row = 1 + (side + 7) // 8  # filter byte + packed bits
    chunk_rows = 1000
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = deflate.compress(b"\x00" * (row * chunk_rows)) + deflate.flush(zlib.Z_FULL_FLUSH)
    total = row * side
    stream = (b"\x78\xda" + block * (side // chunk_rows) + b"\x03\x00"
              + struct.pack(">I", ((total % 65521) << 16) | 1))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
                     + chunk(b"IDAT", stream) + chunk(b"IEND", b""))


def assert_clean(path: Path) -> None:
    """`path` decodes and carries no EXIF, GPS, XMP or IPTC, as fields or as bytes."""
    image = pyvips.Image.new_from_file(str(path))
    assert image.avg() > 0
    assert not [f for f in image.get_fields() if f.startswith(("exif", "xmp", "iptc"))]
    raw = path.read_bytes()
    assert not [mark for mark in FORBIDDEN if mark in raw], path.name


def variant_sizes(out: Path, result_variants: dict[str, dict[str, str]]) -> dict[str, set[tuple[int, int]]]:
    """label → the set of (width, height) of its files (one entry when all formats agree)."""
    sizes: dict[str, set[tuple[int, int]]] = {}
    for label, files in result_variants.items():
        for name in files.values():
            image = pyvips.Image.new_from_file(str(out / name))
            sizes.setdefault(label, set()).add((image.width, image.height))
    return sizes


def fitted(width: int, height: int, box_w: int, box_h: int) -> tuple[float, float]:
    scale = min(box_w / width, box_h / height, 1.0)
    return width * scale, height * scale


# -- fixtures ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def big_jpeg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4000×3000 stored, EXIF orientation 6 (so 3000×4000 upright), GPS, XMP, IPTC."""
    path = tmp_path_factory.mktemp("src") / "big.jpg"
    with_metadata(picture(4000, 3000), orientation=6).jpegsave(str(path), Q=90, keep="all")
    return path


@pytest.fixture(scope="module")
def big_result(big_jpeg: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, PhotoResult]:
    out = tmp_path_factory.mktemp("big-out")
    return out, process_photo(str(big_jpeg), str(out))


@pytest.fixture
def src(tmp_path: Path) -> Path:
    return tmp_path / "in"


# -- sniffing ---------------------------------------------------------------------------

@pytest.mark.parametrize(("head", "mime"), [
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
    (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
    (b"GIF87a\x01\x00", "image/gif"),
    (b"GIF89a\x01\x00", "image/gif"),
    *[(b"\x00\x00\x00\x18ftyp" + brand + b"\x00\x00\x00\x00mif1", "image/heic")
      for brand in (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis")],
    (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00heic", "image/heif"),
    (b"\x00\x00\x00\x18ftypmsf1\x00\x00\x00\x00hevc", "image/heif"),
    (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00mif1", None),  # AVIF is not on the list
    (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isom", None),  # an MP4
    (b'<svg xmlns="http://www.w3.org/2000/svg"/>', None),
    (b'<?xml version="1.0"?><svg/>', None),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3", None),
    (b"<!DOCTYPE html><html>", None),
    (b"PK\x03\x04\x14\x00\x00\x00", None),
    (b"II*\x00\x08\x00\x00\x00", None),  # TIFF
    (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),
    (b"\xff\xd8", None),  # too short to tell
    (b"", None),
])
def test_sniff_image(head: bytes, mime: str | None) -> None:
    assert sniff_image(head[:SNIFF_BYTES]) == mime


def test_sniff_reads_real_files(tmp_path: Path) -> None:
    image = picture(16, 16)
    for suffix, mime in ((".jpg", "image/jpeg"), (".png", "image/png"),
                         (".webp", "image/webp"), (".gif", "image/gif")):
        path = tmp_path / f"x{suffix}"
        image.write_to_file(str(path))
        assert sniff_image(path.read_bytes()[:SNIFF_BYTES]) == mime


# -- photos -----------------------------------------------------------------------------

def test_source_fixture_really_carries_gps_xmp_iptc(big_jpeg: Path) -> None:
    header = pyvips.Image.new_from_file(str(big_jpeg))
    fields = header.get_fields()
    assert header.get("orientation") == 6
    assert GPS_MARK in str(header.get("exif-ifd3-GPSMapDatum"))
    assert "exif-ifd3-GPSLatitude" in fields and "xmp-data" in fields
    raw = big_jpeg.read_bytes()
    assert all(mark in raw for mark in FORBIDDEN)  # IPTC too (libvips reads it only from TIFF)


def test_big_photo_variants_are_upright_and_fit_their_boxes(
    big_result: tuple[Path, PhotoResult],
) -> None:
    out, result = big_result
    sizes = variant_sizes(out, result.variants)
    assert set(result.variants) == {"1080", "640", "320"}
    for label, box in (("1080", (1080, 1350)), ("640", (640, 800)), ("320", (320, 400))):
        assert result.variants[label] == {f: f"{label}.{f}" for f in ("webp", "jpeg", "avif")}
        assert len(sizes[label]) == 1, "every format of a size has the same dimensions"
        (width, height), = sizes[label]
        want_w, want_h = fitted(3000, 4000, *box)  # upright: orientation 6 ⇒ portrait
        assert abs(width - want_w) <= 1 and abs(height - want_h) <= 1
        assert width <= box[0] and height <= box[1]
    assert (result.width, result.height) == next(iter(sizes["1080"]))
    assert result.height == 1350


def test_outputs_carry_no_metadata(big_result: tuple[Path, PhotoResult]) -> None:
    out, result = big_result
    names = [name for files in result.variants.values() for name in files.values()]
    assert len(names) == 9
    for name in names:
        assert_clean(out / name)


def test_camera_metadata_placeholder_and_blurhash(big_result: tuple[Path, PhotoResult]) -> None:
    _, result = big_result
    assert result.taken_at == "2024-05-01T12:30:00Z"  # no offset tag: taken as UTC
    assert (result.camera_make, result.camera_model) == (MAKE, MODEL)
    assert result.placeholder.startswith("data:image/webp;base64,")
    assert len(result.placeholder) < 1024
    tiny = pyvips.Image.new_from_buffer(base64.b64decode(result.placeholder.split(",", 1)[1]), "")
    assert max(tiny.width, tiny.height) <= 20 and tiny.height > tiny.width
    # 4×4 components: size flag "U" (3 + 3 × 9), max AC, 4-char DC, 15 × 2-char AC = 36.
    assert len(result.blurhash) == 36 and result.blurhash[0] == "U"
    assert BLURHASH_CHARS.fullmatch(result.blurhash)


def test_result_pickles(big_result: tuple[Path, PhotoResult]) -> None:
    _, result = big_result
    assert pickle.loads(pickle.dumps(result)) == result
    rejected = pickle.loads(pickle.dumps(MediaRejected("the image is too big")))
    assert isinstance(rejected, MediaRejected) and rejected.reason == "the image is too big"


def test_offset_time_converts_to_utc_and_reruns_are_identical(src: Path, tmp_path: Path) -> None:
    with_metadata(picture(400, 300), offset="+02:00").jpegsave(str(src), keep="all")
    first = process_photo(str(src), str(tmp_path / "a"), avif=False)
    again = process_photo(str(src), str(tmp_path / "a"), avif=False)
    assert first.taken_at == "2024-05-01T10:30:00Z"
    assert again == first
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(
        f"{label}.{fmt}" for label in ("1080", "640", "320") for fmt in ("jpeg", "webp"))
    process_photo(str(src), str(tmp_path / "b"), avif=False)
    for name in ("1080.webp", "320.jpeg"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_small_source_is_never_upscaled(src: Path, tmp_path: Path) -> None:
    picture(500, 400).jpegsave(str(src))
    result = process_photo(str(src), str(tmp_path), avif=False)
    sizes = variant_sizes(tmp_path, result.variants)
    assert sizes == {"1080": {(500, 400)}, "640": {(500, 400)}, "320": {(320, 256)}}
    assert (result.width, result.height) == (500, 400)
    assert (result.taken_at, result.camera_make, result.camera_model) == (None, None, None)


def test_png_with_alpha_flattens_onto_white_for_jpeg(src: Path, tmp_path: Path) -> None:
    rgb = picture(600, 400)
    alpha = (pyvips.Image.black(600, 400) + 255).cast("uchar")
    alpha = alpha.draw_rect(0, 0, 0, 100, 100, fill=True)  # a transparent corner
    rgb.bandjoin(alpha).pngsave(str(src))
    result = process_photo(str(src), str(tmp_path))
    jpeg = pyvips.Image.new_from_file(str(tmp_path / result.variants["1080"]["jpeg"]))
    webp = pyvips.Image.new_from_file(str(tmp_path / result.variants["1080"]["webp"]))
    assert jpeg.bands == 3 and min(jpeg.getpoint(10, 10)) > 240
    assert webp.hasalpha() and webp.getpoint(10, 10)[3] == 0
    for files in result.variants.values():
        for name in files.values():
            assert_clean(tmp_path / name)


@pytest.mark.parametrize("kind", ["grey-jpeg", "cmyk-jpeg", "png16", "grey-png16", "gif",
                                  "webp", "heif-avif"])
def test_other_inputs_become_srgb_8_bit(kind: str, src: Path, tmp_path: Path) -> None:
    image = picture(300, 200)
    if kind == "grey-jpeg":
        image.colourspace("b-w").jpegsave(str(src))
    elif kind == "cmyk-jpeg":
        cmyk = image.icc_transform("cmyk")
        cmyk.jpegsave(str(src))
        assert pyvips.Image.new_from_file(str(src)).interpretation == "cmyk"
    elif kind == "png16":
        image.colourspace("rgb16").pngsave(str(src), bitdepth=16)
    elif kind == "grey-png16":
        image.colourspace("grey16").pngsave(str(src), bitdepth=16)
    elif kind == "gif":  # animated: three pages; the first one is used
        frames = [image.crop(0, 0, 300, 100) + 0, (image.crop(0, 100, 300, 100) + 60)]
        anim = pyvips.Image.arrayjoin([f.cast("uchar") for f in frames * 2], across=1).copy()
        anim.set_type(pyvips.GValue.gint_type, "page-height", 100)
        anim.gifsave(str(src))
        assert pyvips.Image.new_from_file(str(src)).get("n-pages") == 4
    elif kind == "webp":
        image.webpsave(str(src))
    else:
        image.heifsave(str(src), compression="av1")
    result = process_photo(str(src), str(tmp_path))
    want = (300, 100) if kind == "gif" else (300, 200)
    assert (result.width, result.height) == want
    for files in result.variants.values():
        for name in files.values():
            out = pyvips.Image.new_from_file(str(tmp_path / name))
            assert out.interpretation == "srgb" and out.format == "uchar" and out.bands == 3
            assert_clean(tmp_path / name)


# -- hostile and broken files -----------------------------------------------------------

def test_truncated_jpeg_is_rejected(src: Path, tmp_path: Path) -> None:
    picture(800, 600).jpegsave(str(src), Q=90)
    data = src.read_bytes()
    src.write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaRejected, match="not a readable image") as caught:
        process_photo(str(src), str(tmp_path / "out"))
    assert str(src) not in caught.value.reason


SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300">'
       b'<rect width="400" height="300" fill="red"/></svg>')


@pytest.mark.parametrize(("name", "data"), [
    ("photo.jpg", SVG),
    ("drawing.svg", SVG),
    ("doc.pdf", b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
                b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"),
    ("page.png", b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>"),
    ("empty.jpg", b""),
])
def test_non_images_are_rejected(name: str, data: bytes, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    for make in (partial(process_photo, avif=False), make_avatar):
        with pytest.raises(MediaRejected, match="not a JPEG, PNG, WebP, HEIC or GIF image"):
            make(str(path), str(tmp_path / "out"))


def test_decompression_bomb_is_refused_from_its_header(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    png_bomb(bomb)
    assert bomb.stat().st_size < 1_000_000
    header = pyvips.Image.new_from_file(str(bomb))
    assert header.width * header.height > MAX_PIXELS
    start = time.perf_counter()
    for make in (process_photo, make_avatar):
        with pytest.raises(MediaRejected, match="larger than 100 megapixels"):
            make(str(bomb), str(tmp_path / "out"))
    assert time.perf_counter() - start < 0.5  # a decode of 2.5 gigapixels would take minutes


def test_png_with_appended_html_and_zip_keeps_no_payload(src: Path, tmp_path: Path) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("evil.html", PAYLOAD)
    picture(400, 300).pngsave(str(src))
    src.write_bytes(src.read_bytes() + PAYLOAD + archive.getvalue())
    result = process_photo(str(src), str(tmp_path / "out"))
    avatars, _ = make_avatar(str(src), str(tmp_path / "avatar"))
    written = [tmp_path / "out" / n for files in result.variants.values() for n in files.values()]
    written += [tmp_path / "avatar" / n for files in avatars.values() for n in files.values()]
    assert len(written) == 13
    for path in written:
        raw = path.read_bytes()
        assert b"PIXTRIO-PAYLOAD" not in raw and b"PK\x03\x04" not in raw and b"<html" not in raw


# -- avatars ----------------------------------------------------------------------------

def test_avatar_is_square_upright_and_clean(src: Path, tmp_path: Path) -> None:
    # Stored 600×300: left half red, right half blue. Orientation 6 turns it upright to
    # 300×600 with red on top, so the centre square is red above blue.
    red = (pyvips.Image.black(300, 300, bands=3) + [220, 20, 20]).cast("uchar")
    blue = (pyvips.Image.black(300, 300, bands=3) + [20, 20, 220]).cast("uchar")
    stored = red.join(blue, "horizontal").copy(interpretation="srgb")
    with_metadata(stored, orientation=6).jpegsave(str(src), keep="all")
    variants, _ = make_avatar(str(src), str(tmp_path))
    assert variants == {size: {"webp": f"{size}.webp", "jpeg": f"{size}.jpeg"}
                        for size in ("320", "150")}
    for size, files in variants.items():
        for name in files.values():
            image = pyvips.Image.new_from_file(str(tmp_path / name))
            side = int(size)
            assert (image.width, image.height) == (side, side)
            top, bottom = image.getpoint(side // 2, 5), image.getpoint(side // 2, side - 5)
            assert top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0]
            assert_clean(tmp_path / name)


def test_avatar_of_a_tiny_image_is_still_square(src: Path, tmp_path: Path) -> None:
    picture(90, 40).pngsave(str(src))
    make_avatar(str(src), str(tmp_path))
    for name in ("320.webp", "150.jpeg"):
        image = pyvips.Image.new_from_file(str(tmp_path / name))
        assert image.width == image.height == int(name.split(".")[0])


# -- inside a hardened worker -----------------------------------------------------------

def _loader_for(path: str) -> str:
    """Which libvips loader opens `path` in this process, or the error it gives."""
    try:
        return str(pyvips.Image.new_from_file(path).get("vips-loader"))
    except pyvips.Error as exc:
        return f"error: {exc.detail}"


def _address_space_limit() -> int:
    return resource.getrlimit(resource.RLIMIT_AS)[0]


async def test_pipeline_in_a_configured_worker(big_jpeg: Path, tmp_path: Path) -> None:
    svg = tmp_path / "photo.jpg"
    svg.write_bytes(SVG)
    assert _loader_for(str(svg)) == "svgload"  # unconfigured, libvips would parse the SVG
    init = partial(configure_worker, 1 << 30)
    with trio.fail_after(60):
        async with trio_parallel.open_worker_context(init=init) as ctx:
            assert await ctx.run_sync(_address_space_limit) == 1 << 30
            result = await ctx.run_sync(process_photo, str(big_jpeg), str(tmp_path / "out"))
            refused = await ctx.run_sync(_loader_for, str(svg))
            with pytest.raises(MediaRejected, match="not a JPEG, PNG, WebP, HEIC or GIF"):
                await ctx.run_sync(process_photo, str(svg), str(tmp_path / "svg-out"))
            assert await ctx.run_sync(_loader_for, str(big_jpeg)) == "jpegload"
    assert "not a known file format" in refused
    assert (result.width, result.height) == (1013, 1350)
    for files in result.variants.values():
        for name in files.values():
            assert_clean(tmp_path / "out" / name)
