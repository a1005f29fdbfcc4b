"""Short test clips made with the bundled FFmpeg, and reading back what the server made."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av

from pixtrio.actors.ffmpeg import find_ffmpeg

FFMPEG = find_ffmpeg(None)
_CODECS = {
    "mp4": ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"],
    "mov": ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"],
    "webm": ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "500k",
             "-c:a", "libopus"],
}


def ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args],
                   check=True)


def clip(path: Path, *, size: tuple[int, int] = (320, 240), seconds: float = 2.0, fps: int = 30,
         audio: bool = True, rotation: int | None = None, faststart: bool = False) -> Path:
    """A test-pattern clip (with a tone when `audio`) in the container `path`'s suffix names;
    `rotation` adds a phone-style display rotation (degrees) without turning the pixels."""
    width, height = size
    inputs = ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds}"]
    if audio:
        inputs += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    flags = ["-movflags", "+faststart"] if faststart else []
    target = path if rotation is None else path.with_name("unrotated-" + path.name)
    ffmpeg(*inputs, *_CODECS[path.suffix.lstrip(".")], *flags, str(target))
    if rotation is not None:
        ffmpeg("-display_rotation:v:0", str(rotation), "-i", str(target), "-c", "copy", str(path))
    return path


def audio_only(path: Path, seconds: float = 2.0) -> Path:
    ffmpeg("-f", "lavfi", "-i", f"sine=duration={seconds}", "-c:a", "aac", str(path))
    return path


def decode_all(path: Path) -> tuple[int, int, int, list[int]]:
    """(frames, width, height, rotations seen) after decoding every frame of `path`."""
    frames, width, height, rotations = 0, 0, 0, set()
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames += 1
            width, height = frame.width, frame.height
            rotations.add(int(frame.rotation))
    return frames, width, height, sorted(rotations)
