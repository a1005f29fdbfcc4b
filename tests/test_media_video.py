"""The video pipeline's parts: sniffing, probing, the ladder and the FFmpeg commands."""

from __future__ import annotations

import subprocess
from pathlib import Path

import m3u8
import pytest

from pixtrio.codecs.photos import MediaRejected
from pixtrio.codecs.probe import VideoInfo, probe_video
from pixtrio.codecs.sniff import SNIFF_BYTES, sniff, sniff_video
from pixtrio.codecs.transcode import (
    SEGMENT_SECONDS,
    encode_command,
    hls_command,
    ladder,
    poster_command,
    progressive,
)
from tests.support import images, videos

# -- sniffing ----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "mime"), [
    ("clip.mp4", "video/mp4"), ("clip.mov", "video/quicktime"), ("clip.webm", "video/webm"),
])
def test_sniff_reads_real_videos(tmp_path: Path, name: str, mime: str) -> None:
    path = videos.clip(tmp_path / name, seconds=0.5)
    assert sniff(path.read_bytes()[:SNIFF_BYTES]) == mime


@pytest.mark.parametrize("head", [
    b"\x00\x00\x00\x1cftypheic\x00\x00\x00\x00",  # HEIC is an image, not a video
    b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00",
    b"\x1a\x45\xdf\xa3\x9fB\x86\x81\x01B\x82\x88matroska",  # Matroska that is not WebM
    b"RIFF\x00\x00\x00\x00AVI LIST",
    b"<html><video>",
    b"",
])
def test_sniff_video_refuses_other_containers(head: bytes) -> None:
    assert sniff_video(head) is None


def test_sniff_tells_images_from_videos() -> None:
    assert sniff(images.jpeg(8, 8)[:SNIFF_BYTES]) == "image/jpeg"


# -- probing -----------------------------------------------------------------------------


def test_probe_reports_displayed_size_audio_and_duration(tmp_path: Path) -> None:
    plain = probe_video(str(videos.clip(tmp_path / "a.mp4", size=(320, 240), seconds=2)),
                        "video/mp4", max_seconds=60)
    assert plain == VideoInfo(duration_s=pytest.approx(2.0, abs=0.05), width=320, height=240,
                              has_audio=True)
    turned = probe_video(str(videos.clip(tmp_path / "r.mov", rotation=90, audio=False)),
                         "video/quicktime", max_seconds=60)
    assert (turned.width, turned.height, turned.has_audio) == (240, 320, False)
    webm = probe_video(str(videos.clip(tmp_path / "w.webm", seconds=1)), "video/webm",
                       max_seconds=60)
    assert (webm.width, webm.height, webm.has_audio) == (320, 240, True)


def test_probe_refuses_unusable_videos(tmp_path: Path) -> None:
    def reason(path: Path, mime: str = "video/mp4", max_seconds: float = 60) -> str:
        with pytest.raises(MediaRejected) as rejected:
            probe_video(str(path), mime, max_seconds=max_seconds)
        return rejected.value.reason

    assert reason(videos.audio_only(tmp_path / "tone.mp4")) == "the file has no video stream"
    long_clip = videos.clip(tmp_path / "long.mp4", size=(64, 64), seconds=3, fps=5, audio=False)
    assert "at most 2 s" in reason(long_clip, max_seconds=2)
    huge = videos.clip(tmp_path / "8k.mp4", size=(7680, 4320), seconds=0.04, fps=25, audio=False)
    assert "larger than 4096 pixels" in reason(huge)
    jpeg = tmp_path / "photo.mp4"
    jpeg.write_bytes(images.jpeg(64, 64))
    assert "not a readable video" in reason(jpeg)
    whole = videos.clip(tmp_path / "whole.mp4", seconds=2)  # moov at the end
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert "not a readable video" in reason(cut)
    webm_as_mp4 = videos.clip(tmp_path / "v.webm", seconds=0.5)
    assert "not a readable video" in reason(webm_as_mp4, "video/mp4")  # only its own demuxer


# -- the ladder --------------------------------------------------------------------------


def dims(info: VideoInfo) -> list[tuple[str, int, int]]:
    return [(r.name, r.width, r.height) for r in ladder(info)]


def test_ladder_keeps_rungs_not_above_the_source() -> None:
    assert dims(VideoInfo(10, 1920, 1080, True)) == [
        ("1080", 1920, 1080), ("720", 1280, 720), ("480", 854, 480), ("240", 426, 240)]
    assert dims(VideoInfo(10, 3840, 2160, True))[0] == ("1080", 1920, 1080)
    assert dims(VideoInfo(10, 1080, 1920, True))[:2] == [("1080", 1080, 1920), ("720", 720, 1280)]
    assert dims(VideoInfo(10, 1280, 720, True)) == [
        ("720", 1280, 720), ("480", 854, 480), ("240", 426, 240)]


def test_ladder_tops_odd_sizes_with_the_source_size() -> None:
    assert dims(VideoInfo(10, 800, 600, True)) == [("600", 800, 600), ("480", 640, 480),
                                                   ("240", 320, 240)]
    assert dims(VideoInfo(10, 161, 101, True)) == [("101", 160, 100)]
    rungs = ladder(VideoInfo(10, 1920, 1080, True))
    assert progressive(rungs).name == "720"
    assert progressive(ladder(VideoInfo(10, 800, 600, True))).name == "600"
    assert progressive(ladder(VideoInfo(10, 640, 360, True))).name == "360"


# -- the commands, run for real ----------------------------------------------------------


def run(command: list[str]) -> None:
    subprocess.run(command, check=True)


@pytest.mark.parametrize(("audio", "rotation"), [(True, None), (False, 90)])
def test_commands_make_an_aligned_ladder_mp4_and_poster(
    tmp_path: Path, audio: bool, rotation: int | None,
) -> None:
    source = videos.clip(tmp_path / "in.mov", size=(854, 480), seconds=9, fps=30, audio=audio,
                         rotation=rotation)
    info = probe_video(str(source), "video/quicktime", max_seconds=60)
    rungs = ladder(info)
    encoded, hls = tmp_path / "encoded", tmp_path / "hls"
    encoded.mkdir()
    hls.mkdir()
    run(encode_command(videos.FFMPEG, source, "video/quicktime", info, rungs, encoded,
                       preset="ultrafast"))
    run(hls_command(videos.FFMPEG, rungs, encoded, hls, has_audio=audio))
    run(poster_command(videos.FFMPEG, source, "video/quicktime", info, tmp_path / "poster.png"))

    upright = (480, 854) if rotation else (854, 480)
    master = m3u8.load(str(hls / "master.m3u8"))
    assert [p.stream_info.resolution for p in master.playlists] == [
        upright, (240, 428) if rotation else (428, 240)]
    for variant in master.playlists:
        assert variant.stream_info.bandwidth > 0
        assert variant.stream_info.codecs.startswith("avc1.")
        assert ("mp4a.40.2" in variant.stream_info.codecs) == audio
        playlist = m3u8.load(str(hls / variant.uri))
        assert playlist.is_endlist and playlist.playlist_type == "vod"
        durations = [segment.duration for segment in playlist.segments]
        assert durations[:-1] == [SEGMENT_SECONDS] * (len(durations) - 1)  # aligned cuts
        assert sum(durations) == pytest.approx(9, abs=0.1)
        first = hls / Path(variant.uri).parent / playlist.segments[0].uri
        frames, width, height, _ = videos.decode_all(first)
        assert (width, height) == variant.stream_info.resolution and frames == 4 * 30

    frames, width, height, rotations = videos.decode_all(encoded / f"{progressive(rungs).name}.mp4")
    assert (width, height) == upright and frames == 9 * 30
    assert rotations == [0]  # turned upright, not merely flagged
    mp4 = (encoded / "480.mp4").read_bytes()
    assert mp4.index(b"moov") < mp4.index(b"mdat")  # faststart
    poster = tmp_path / "poster.png"
    assert poster.read_bytes().startswith(b"\x89PNG")
    assert videos.decode_all(poster)[1:3] == upright


def test_encoding_fails_on_a_damaged_stream(tmp_path: Path) -> None:
    whole = videos.clip(tmp_path / "whole.mp4", seconds=4, faststart=True)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    info = probe_video(str(cut), "video/mp4", max_seconds=60)  # the header is intact
    out = tmp_path / "out"
    out.mkdir()
    failed = subprocess.run(encode_command(videos.FFMPEG, cut, "video/mp4", info, ladder(info),
                                           out, preset="ultrafast"), capture_output=True)
    assert failed.returncode != 0 and b"Invalid data" in failed.stderr
