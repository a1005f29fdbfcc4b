"""PDQ perceptual hashes (Meta's algorithm, through `pdqhash`) of decoded images.

Blocking, CPU-bound work: call it inside a media worker process (see `photos`).

PDQ survives resizing and recompression, but not mirroring or rotation (a mirrored image
hashes about as far from the original as an unrelated one), and only crops of a percent
or two: each further percent cut from a side moves the hash some 12-16 bits. Uploads are
hashed once, as they are; a blocked image is remembered by more hashes instead, so the
lookup stays one scan of the index:
- `pdqhash.compute_dihedral` gives the hashes of all eight rotations and mirrors of an
  image at the cost of about one, so a mirrored or rotated copy matches one of them;
- `crop_hashes` adds the hashes of 80 slightly cropped copies (each side cut by 0, 2 or
  4 %, and each of those mirrored left-right), so a copy cut by up to 5 % on any side lies
  within the match distance of one of them (measured: at most 22-32 bits apart, against
  100-130 for unrelated images).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pdqhash
import pyvips

HASH_BOX = 512
"""Images are scaled down to fit HASH_BOX × HASH_BOX before hashing (PDQ works on a 64 × 64
luma grid: more pixels cost time and change nothing that matters)."""

MIN_QUALITY = 50
"""Below this quality (0-100, how much gradient the image has) PDQ's hashes of unrelated
flat images collide: Meta's reference tools drop such hashes, and so does the blocklist."""

MIN_SIDE = 64
"""Images smaller than this on a side are too small to make a blocklist entry from (PDQ
works on a 64 × 64 grid)."""


@dataclass(frozen=True)
class PdqHashes:
    """An image's PDQ hashes: plain values, so they pickle across the process boundary."""

    dihedral: tuple[str, ...]
    """Eight 64-hex-digit hashes, in pdqhash's order: as is, rotated 90°, 180°, 270°,
    mirrored left-right, mirrored top-bottom, and the two diagonal transposes."""
    quality: int
    crops: tuple[str, ...] = ()
    """Hashes of slightly cropped copies (see `crop_hashes`), made for blocklist entries."""

    @property
    def pdq(self) -> str:
        """The hash of the image as it is."""
        return self.dihedral[0]


def hash_image(image: pyvips.Image) -> PdqHashes:
    """The PDQ hashes of `image`, a decoded 8-bit sRGB image with or without alpha (alpha
    is flattened onto white, as the JPEG variant shows it)."""
    vectors, quality = pdqhash.compute_dihedral(_pixels(_hashable(image)))
    return PdqHashes(tuple(hex_of_bits(v) for v in vectors), int(quality))


CROP_STEPS = (0.0, 0.02, 0.04)
"""Fractions cut from each side for `crop_hashes`: 0-5 % cuts are at most 1 % from one."""
MIRRORED = 5
"""Index of the left-right mirror in pdqhash's dihedral order."""


def crop_hashes(image: pyvips.Image) -> tuple[str, ...]:
    """The hashes of `image` (as `hash_image` takes it) cut by each combination of
    `CROP_STEPS` on its four sides, but the uncut one: each as it is and mirrored
    left-right, 160 hashes. About a third of a second of CPU."""
    image = _hashable(image)
    width, height = image.width, image.height
    hashes: list[str] = []
    for left, right, top, bottom in itertools.product(CROP_STEPS, repeat=4):
        if left == right == top == bottom == 0:
            continue
        x, y = round(width * left), round(height * top)
        cut = image.crop(x, y, round(width * (1 - right)) - x, round(height * (1 - bottom)) - y)
        vectors, _ = pdqhash.compute_dihedral(_pixels(cut))
        hashes += (hex_of_bits(vectors[0]), hex_of_bits(vectors[MIRRORED]))
    return tuple(hashes)


def _hashable(image: pyvips.Image) -> pyvips.Image:
    """`image` fitting `HASH_BOX`, as RGB (alpha flattened onto white), in memory."""
    if image.width > HASH_BOX or image.height > HASH_BOX:
        image = image.thumbnail_image(HASH_BOX, height=HASH_BOX, size="down")
    if image.bands == 4:
        image = image.flatten(background=[255, 255, 255])
    return image.copy_memory()


def _pixels(image: pyvips.Image) -> np.ndarray:
    return np.ndarray(buffer=image.write_to_memory(), dtype=np.uint8,
                      shape=(image.height, image.width, image.bands))


def hex_of_bits(bits: np.ndarray) -> str:
    """256 bits (most significant first, as pdqhash gives them) as 64 hex digits: the
    format of Meta's tools and ThreatExchange."""
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()
