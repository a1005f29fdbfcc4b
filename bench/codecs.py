"""Per-frame cost of the `/ws` codecs against a bare parse or dump of the same frame.

For a small command (`ping`, `auth`) and a `feed.insert` event carrying a full post, in
JSON and msgpack, it times the codec's decode (validation included) and encode, and in the
same run the baseline: `orjson.loads`/`orjson.dumps` and `msgpack.unpackb`/`packb` of the
same bytes and map, no validation. It prints each cost and its ratio to the baseline.
A few seconds.

    python -m bench.codecs                       # protocol.codecs
    python -m bench.codecs --codecs pkg.codecs   # another codecs module (its sibling
                                                 # `messages` supplies the message types)
"""

from __future__ import annotations

import argparse
import importlib
import timeit
from collections.abc import Callable
from typing import Any

import msgpack
import orjson

POST: dict[str, Any] = {
    "post_id": "7291160237531136",
    "author": {"user_id": "7291023512043520", "username": "ben.ok",
               "profile_pic": "/media/a/7291023512043520/2-5e0b7c41d93a26f8/320.webp"},
    "kind": "photo",
    "status": "ready",
    "media_url": "/media/p/7291160237531136/a41c09e7d25b3f86/1080.webp",
    "thumbnail_url": "/media/p/7291160237531136/a41c09e7d25b3f86/320.webp",
    "placeholder": "data:image/webp;base64,UklGRkIAAABXRUJQVlA4IDYAAADQAQCdASoIAAoAAUAmJaACdLoAA"
                   "viyAAD+/ZrhB0a2gzVQ6Ow7aUY/Mh+aK3Ts6qPmAAA=",
    "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
    "width": 1080,
    "height": 1350,
    "variants": {
        size: {fmt: f"/media/p/7291160237531136/a41c09e7d25b3f86/{size}.{fmt}"
               for fmt in ("webp", "avif", "jpg")}
        for size in ("320", "640", "1080")
    },
    "caption": "Morning at the lake, first light over the water #sunrise #lake #nofilter",
    "location": "Lac d'Annecy",
    "alt_text": "A calm lake at sunrise with mountains behind, mist on the water",
    "hashtags": ["sunrise", "lake", "nofilter"],
    "taken_at": "2026-01-15T07:58:12Z",
    "camera": "Pixel 9",
    "like_count": 42,
    "comment_count": 3,
    "liked_by_viewer": False,
    "created_at": "2026-01-15T10:30:00Z",
}


def per_call(fn: Callable[[], object], budget: float) -> float:
    """The best per-call time of `fn` in seconds, over 5 rounds of about `budget`/5 each."""
    timer = timeit.Timer(fn)
    number = 10
    while (elapsed := timer.timeit(number)) < 0.005:
        number *= 10
    number = max(1, int(number * budget / 5 / elapsed))
    return min(timer.repeat(repeat=5, number=number)) / number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--codecs", default="pixtrio.protocol.codecs", help="the codecs module to time")
    parser.add_argument("--budget", type=float, default=0.2,
                        help="seconds spent on each timing (default 0.2)")
    args = parser.parse_args()
    codecs = importlib.import_module(args.codecs)
    messages = importlib.import_module(args.codecs.rpartition(".")[0] + ".messages")
    cases = [  # name, message, decoded as a command?
        ("ping", messages.Ping(), True),
        ("auth", messages.Auth("tok-7291023512043520-9f2c4e1a7b3d5c60", since="1732590000000-0"),
         True),
        ("feed.insert", messages.FeedInsert("1732590000000-0", POST), False),
    ]
    baselines = {codecs.JSON: (orjson.loads, orjson.dumps),
                 codecs.MSGPACK: (msgpack.unpackb, msgpack.packb)}

    print(f"codecs module: {args.codecs}")
    print(f"{'frame':<12} {'codec':<8} {'bytes':>5}  {'decode µs':>9} {'bare':>6} {'ratio':>6}"
          f"  {'encode µs':>9} {'bare':>6} {'ratio':>6}")
    for name, message, is_command in cases:
        for codec, (load, dump) in baselines.items():
            decode = codec.decode_command if is_command else codec.decode_server
            print(row(name, codec, message, decode, load, dump, args.budget))


def row(name: str, codec: Any, message: Any, decode: Callable[[Any], Any],
        load: Callable[[Any], Any], dump: Callable[[Any], Any], budget: float) -> str:
    """One line of the table: `message`'s frame through `codec` against `load`/`dump`."""
    frame = codec.encode(message)
    assert decode(frame) == message
    wire = load(frame)
    decoding, bare_load, encoding, bare_dump = (per_call(fn, budget) * 1e6 for fn in (
        lambda: decode(frame), lambda: load(frame), lambda: codec.encode(message),
        lambda: dump(wire)))
    size = len(frame.encode() if isinstance(frame, str) else frame)
    kind = "msgpack" if codec.binary else "json"
    return (f"{name:<12} {kind:<8} {size:>5}  {decoding:>9.2f} {bare_load:>6.2f} "
            f"{decoding / bare_load:>5.1f}x  {encoding:>9.2f} {bare_dump:>6.2f} "
            f"{encoding / bare_dump:>5.1f}x")

if __name__ == "__main__":
    main()
