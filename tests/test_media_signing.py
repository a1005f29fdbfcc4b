"""`MediaSigner`: signed media URLs check out until they expire, and nothing else does."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from pixtrio.features.media.signing import BUCKET_S, MediaSigner

PATH = "/media/p/123/abcdef0123456789/1080.webp"
NOW = 1_800_000_123.5


def parts(url: str) -> tuple[str, str, str]:
    split = urlsplit(url)
    args = parse_qs(split.query)
    return split.path, args["exp"][0], args["sig"][0]


def test_a_signed_url_verifies_until_it_expires() -> None:
    signer = MediaSigner(b"s" * 32, ttl_s=14400)
    path, exp, sig = parts(signer.sign(PATH, NOW))
    assert path == PATH
    assert int(exp) % BUCKET_S == 0 and NOW + 14400 <= int(exp) < NOW + 14400 + BUCKET_S
    assert signer.sign(PATH, NOW + 1) == signer.sign(PATH, NOW)  # reused within a bucket
    assert signer.verify(PATH, exp, sig, NOW)
    assert signer.verify(PATH, exp, sig, int(exp) - 1)
    assert not signer.verify(PATH, exp, sig, int(exp))  # expired


def test_anything_else_fails() -> None:
    signer = MediaSigner(b"s" * 32, ttl_s=600)
    path, exp, sig = parts(signer.sign(PATH, NOW))
    flipped = ("A" if sig[0] != "A" else "B") + sig[1:]
    for bad in [(PATH, exp, flipped), (PATH, str(int(exp) + BUCKET_S), sig),
                (PATH.replace("1080", "320"), exp, sig), (PATH, None, sig), (PATH, exp, None),
                (PATH, exp, ""), (PATH, "-1", sig), (PATH, "٣", sig), (PATH, "9" * 400, sig),
                (PATH, exp, "é" * 43)]:
        assert not signer.verify(*bad, NOW), bad
    other = MediaSigner(b"t" * 32, ttl_s=600)  # another server's secret
    assert not other.verify(PATH, exp, sig, NOW)
    assert MediaSigner(b"s" * 32, ttl_s=1).signature(PATH, 5) == signer.signature(PATH, 5)


def test_a_playlist_signs_what_it_names() -> None:
    signer = MediaSigner(b"s" * 32, ttl_s=600)
    folder = "/media/p/123/abcdef0123456789/hls"
    text = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\nseg000.ts\n#EXT-X-ENDLIST\n"
    lines = signer.sign_playlist(text, f"{folder}/720/index.m3u8", 1800).splitlines()
    assert lines[:3] + lines[4:] == ["#EXTM3U", "#EXT-X-TARGETDURATION:4", "#EXTINF:4.0,",
                                     "#EXT-X-ENDLIST"]
    path, exp, sig = parts(f"{folder}/720/{lines[3]}")
    assert signer.verify(path, exp, sig, 1000) and path == f"{folder}/720/seg000.ts"
    [rung] = [line for line in signer.sign_playlist(
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n720/index.m3u8\n", f"{folder}/master.m3u8",
        1800).splitlines() if not line.startswith("#")]
    assert signer.verify(*parts(f"{folder}/{rung}"), 1000)
