"""Looking inside an uploaded video before any transcoding, with PyAV.

`probe_video` parses untrusted containers: call it in a worker process (the media pool),
never on the event loop's thread.
"""

from __future__ import annotations

from dataclasses import dataclass

import av

from pixtrio.codecs.photos import MediaRejected

MAX_SIDE = 4096
"""Videos larger than this on their long side are refused from the header."""
DEMUXERS = {"video/mp4": "mov", "video/quicktime": "mov", "video/webm": "matroska"}
"""The only FFmpeg demuxer each accepted upload type is opened with (never a guessed one)."""
VIDEO_CODECS = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "prores"})
"""Video codecs phones and browsers record; anything else is refused before decoding."""
_FIRST_FRAME_PACKETS = 300
"""A video stream that yields no frame within this many packets is not playable."""


@dataclass(frozen=True)
class VideoInfo:
    """What the transcoder needs to know; plain values, so it pickles across processes."""

    duration_s: float
    width: int
    """As displayed: rotation metadata from phones already applied."""
    height: int
    has_audio: bool


def probe_video(source: str, content_type: str, *, max_seconds: float) -> VideoInfo:
    """The facts of the video file `source`, once it passed every check.

    The file is opened only with the demuxer of its (sniffed) `content_type`. Raises
    MediaRejected (with a reason for the author) when it cannot be opened, has no video
    stream or one in a codec outside `VIDEO_CODECS`, is longer than `max_seconds`, is
    larger than `MAX_SIDE` on its long side, or its first frame does not decode.
    """
    try:
        container = av.open(source, format=DEMUXERS[content_type], metadata_errors="ignore",
                            options={"protocol_whitelist": "file"})
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise MediaRejected(f"the file is not a readable video: {_detail(exc)}") from None
    with container:
        if not container.streams.video:
            raise MediaRejected("the file has no video stream")
        stream = container.streams.video[0]
        codec = stream.codec_context.name
        if codec not in VIDEO_CODECS:
            raise MediaRejected(f"the video codec {codec} is not supported")
        width, height = stream.codec_context.width, stream.codec_context.height
        if width <= 0 or height <= 0:
            raise MediaRejected("the video stream has no picture size")
        if max(width, height) > MAX_SIDE:
            raise MediaRejected(f"the video is larger than {MAX_SIDE} pixels on its long side"
                                f" ({width}×{height})")
        duration = _duration_s(container, stream)
        if duration is None:
            raise MediaRejected("the video's duration is unknown")
        if duration > max_seconds:
            raise MediaRejected(f"the video is {duration:.1f} s long; at most {max_seconds:g} s"
                                " is allowed")
        rotation = _first_frame_rotation(container, stream)
        has_audio = bool(container.streams.audio)
    if rotation % 180:
        width, height = height, width
    return VideoInfo(duration_s=duration, width=width, height=height, has_audio=has_audio)


def _duration_s(container: av.container.InputContainer, stream: av.VideoStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _first_frame_rotation(container: av.container.InputContainer, stream: av.VideoStream) -> int:
    """The display rotation of the first frame, in degrees; MediaRejected if none decodes."""
    try:
        for count, packet in enumerate(container.demux(stream)):
            if count >= _FIRST_FRAME_PACKETS:
                break
            for frame in packet.decode():
                return int(frame.rotation)
    except av.FFmpegError as exc:
        raise MediaRejected(f"the video does not decode: {_detail(exc)}") from None
    raise MediaRejected("the video does not decode: no picture in its first packets")


def _detail(exc: Exception) -> str:
    """The library's message without file paths."""
    if isinstance(exc, av.FFmpegError) and exc.strerror:
        return str(exc.strerror)
    return type(exc).__name__
