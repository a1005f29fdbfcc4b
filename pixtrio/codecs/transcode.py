"""The rendition ladder of a video and the FFmpeg command lines that make it.

Pure functions: nothing here runs FFmpeg. One encode pass decodes the upload once and
writes one H.264/AAC MP4 per rung (keyframes every `SEGMENT_SECONDS`, so every rung cuts
at the same instants); a copy-only pass then segments those MP4s into an HLS ladder with a
master playlist. The progressive MP4 for browsers is one of the rungs, not another encode.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pixtrio.codecs.probe import DEMUXERS, VideoInfo

SEGMENT_SECONDS = 4
PROGRESSIVE_SIDE = 720
"""The short side of the progressive MP4 (or the source's, when smaller)."""
MAX_FPS = 60
CRF = 23
"""x264 quality target; each rung's bitrate cap keeps easy and hard clips in budget."""
_LADDER: tuple[tuple[int, int, int], ...] = (
    (1080, 5000, 128), (720, 2800, 128), (480, 1400, 96), (240, 400, 64),
)
"""(short side, video kbit/s cap, audio kbit/s) of the standard rungs, largest first."""
_HD_PIXELS = 1920 * 1080


@dataclass(frozen=True)
class Rung:
    name: str
    """The short side, as a string: also the rendition's directory and file name."""
    width: int
    height: int
    video_kbps: int
    audio_kbps: int


def ladder(info: VideoInfo) -> list[Rung]:
    """The rungs for a video, largest first: the standard ones not above the source, topped
    by one at the source's own size when that is below 1080p and not a standard rung."""
    short = min(info.width, info.height)
    sides = [side for side, _, _ in _LADDER if side <= short]
    if short < _LADDER[0][0] and short not in sides:
        sides.insert(0, short)
    return [_rung(info, side) for side in sides]


def progressive(rungs: list[Rung]) -> Rung:
    """The rung served as the progressive MP4: 720p, or the largest when that is smaller."""
    return next((r for r in rungs if int(r.name) <= PROGRESSIVE_SIDE), rungs[-1])


def _rung(info: VideoInfo, side: int) -> Rung:
    short_even = max(2, side // 2 * 2)
    long_side = max(info.width, info.height) * short_even / min(info.width, info.height)
    long_even = max(2, round(long_side / 2) * 2)
    width, height = (long_even, short_even) if info.width >= info.height else (short_even, long_even)
    standard = {s: (v, a) for s, v, a in _LADDER}
    if side in standard:
        video_kbps, audio_kbps = standard[side]
    else:  # between standard rungs: scale the 1080p budget by area, sub-linearly
        video_kbps = max(150, round(_LADDER[0][1] * (width * height / _HD_PIXELS) ** 0.75))
        audio_kbps = next(a for s, _, a in _LADDER if s <= side) if side >= 240 else 64
    return Rung(str(side), width, height, video_kbps, audio_kbps)


def _input(source: Path, content_type: str) -> list[str]:
    """Open `source` with its own demuxer only, reading nothing but that file."""
    return ["-protocol_whitelist", "file", "-f", DEMUXERS[content_type], "-i", str(source)]


def encode_command(
    ffmpeg: str, source: Path, content_type: str, info: VideoInfo, rungs: list[Rung],
    out_dir: Path, *, preset: str,
) -> list[str]:
    """One pass: decode `source` once, write `out_dir/<rung>.mp4` for every rung.

    Rotation is applied (FFmpeg's autorotate), frame rates above `MAX_FPS` are capped,
    and no metadata (GPS, device, chapters) is copied. Any decoding error fails the run.
    """
    scaled = "".join(
        f"[s{i}]scale={r.width}:{r.height}:flags=bicubic,setsar=1,format=yuv420p[v{i}];"
        for i, r in enumerate(rungs)
    )
    graph = f"[0:v:0]split={len(rungs)}" + "".join(f"[s{i}]" for i in range(len(rungs)))
    command = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-xerror",
               *_input(source, content_type), "-filter_complex", f"{graph};{scaled.rstrip(';')}"]
    for i, rung in enumerate(rungs):
        command += ["-map", f"[v{i}]"]
        if info.has_audio:
            command += ["-map", "0:a:0", "-c:a", "aac", "-b:a", f"{rung.audio_kbps}k", "-ac", "2"]
        command += [
            "-c:v", "libx264", "-preset", preset, "-profile:v", "high", "-crf", str(CRF),
            "-maxrate", f"{rung.video_kbps}k", "-bufsize", f"{2 * rung.video_kbps}k",
            "-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_SECONDS})", "-sc_threshold", "0",
            "-fpsmax", str(MAX_FPS), "-map_metadata", "-1", "-map_chapters", "-1",
            "-movflags", "+faststart", "-y", str(out_dir / f"{rung.name}.mp4"),
        ]
    return command


def hls_command(ffmpeg: str, rungs: list[Rung], encoded: Path, hls_dir: Path, *,
                has_audio: bool) -> list[str]:
    """Copy (no re-encoding) each rung's MP4 in `encoded` into HLS under `hls_dir`:
    `master.m3u8`, and per rung `<rung>/index.m3u8` with `<rung>/segNNN.ts` segments."""
    command = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error"]
    for rung in rungs:
        command += ["-protocol_whitelist", "file", "-i", str(encoded / f"{rung.name}.mp4")]
    streams = []
    for i, rung in enumerate(rungs):
        command += ["-map", f"{i}:v:0"] + (["-map", f"{i}:a:0"] if has_audio else [])
        streams.append(f"v:{i},a:{i},name:{rung.name}" if has_audio else f"v:{i},name:{rung.name}")
    return command + [
        "-c", "copy", "-f", "hls", "-hls_time", str(SEGMENT_SECONDS),
        "-hls_playlist_type", "vod", "-hls_flags", "independent_segments",
        "-hls_segment_type", "mpegts", "-hls_segment_filename", str(hls_dir / "%v" / "seg%03d.ts"),
        "-master_pl_name", "master.m3u8", "-var_stream_map", " ".join(streams),
        "-y", str(hls_dir / "%v" / "index.m3u8"),
    ]


def poster_command(ffmpeg: str, source: Path, content_type: str, info: VideoInfo,
                   out: Path) -> list[str]:
    """One upright frame from about 1 s in (the middle, for shorter clips) as a PNG."""
    at = min(1.0, info.duration_s / 2)
    return [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-ss", f"{at:.3f}",
            *_input(source, content_type), "-map", "0:v:0", "-frames:v", "1",
            "-map_metadata", "-1", "-c:v", "png", "-f", "image2", "-update", "1", "-y", str(out)]
