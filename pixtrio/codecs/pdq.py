"""PDQ perceptual hashes (Meta's algorithm, through `pdqhash`) of decoded images.

Blocking, CPU-bound work: call it inside a media worker process (see `photos`).

PDQ survives resizing, recompression and small crops, but not mirroring or rotation: a
mirrored image hashes far from the original. `pdqhash.compute_dihedral` gives the hashes
of all eight rotations and mirrors of the image at the cost of about one, so a blocked
image is remembered by all eight and an upload is compared by its one hash as it is.
"""

from __future__ import annotations

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

    @property
    def pdq(self) -> str:
        """The hash of the image as it is."""
        return self.dihedral[0]


def hash_image(image: pyvips.Image) -> PdqHashes:
    """The PDQ hashes of `image`, a decoded 8-bit sRGB image with or without alpha (alpha
    is flattened onto white, as the JPEG variant shows it)."""
    if image.width > HASH_BOX or image.height > HASH_BOX:
        image = image.thumbnail_image(HASH_BOX, height=HASH_BOX, size="down")
    if image.bands == 4:
        image = image.flatten(background=[255, 255, 255])
    pixels = np.ndarray(buffer=image.write_to_memory(), dtype=np.uint8,
                        shape=(image.height, image.width, image.bands))
    vectors, quality = pdqhash.compute_dihedral(pixels)
    return PdqHashes(tuple(hex_of_bits(v) for v in vectors), int(quality))


def hex_of_bits(bits: np.ndarray) -> str:
    """256 bits (most significant first, as pdqhash gives them) as 64 hex digits: the
    format of Meta's tools and ThreatExchange."""
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()
