"""Settings, rate-limit rules, cursors and the signing secret."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from pixtrio.config import ConfigError, Settings
from pixtrio.edge.cursors import Cursors
from pixtrio.features.errors import Forbidden, Malformed
from pixtrio.features.ratelimit import DEFAULT_LIMITS, Limit, parse_limits
from pixtrio.secret import load_or_create_secret


def test_defaults_and_environment() -> None:
    assert Settings.from_env({}) == Settings()
    settings = Settings.from_env({
        "PIXTRIO_HOST": "0.0.0.0", "PIXTRIO_PORT": "9000", "PIXTRIO_DATA_DIR": "/srv/px",
        "PIXTRIO_REDIS_URL": "redis://r:6379/0", "PIXTRIO_WORKER_ID": "5",
        "PIXTRIO_KNOWN_ADDRESS_TTL": "86400", "PIXTRIO_REDIS_CLUSTER": "true",
    })
    assert (settings.host, settings.port, str(settings.data_dir)) == ("0.0.0.0", 9000, "/srv/px")
    assert settings.redis_url == "redis://r:6379/0" and settings.worker_id == 5
    assert settings.redis_cluster and not Settings().redis_cluster
    assert Settings().known_address_ttl == 30 * 86400 and settings.known_address_ttl == 86400
    assert settings.with_overrides(port=1234, host=None).port == 1234
    assert Settings().trusted_proxies == ()
    proxies = Settings.from_env({"PIXTRIO_TRUSTED_PROXIES": " 10.0.0.0/8, 2001:db8::/32,192.0.2.7,"})
    assert [str(n) for n in proxies.trusted_proxies] == ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7/32"]


@pytest.mark.parametrize("env", [
    {"PIXTRIO_PORT": "eighty"}, {"PIXTRIO_PORT": "70000"}, {"PIXTRIO_WORKER_ID": "4096"},
    {"PIXTRIO_LOG_LEVEL": "loud"}, {"PIXTRIO_RATE_LIMITS": "login_ip=lots"},
    {"PIXTRIO_KNOWN_ADDRESS_TTL": "0"}, {"PIXTRIO_REDIS_CLUSTER": "maybe"},
    {"PIXTRIO_REDIS_CLUSTER": "true"},
    {"PIXTRIO_REDIS_CLUSTER": "true", "PIXTRIO_REDIS_URL": "unix:///tmp/valkey.sock"},
    {"PIXTRIO_TRUSTED_PROXIES": "10.0.0.0/8,proxy.example"},
    {"PIXTRIO_TRUSTED_PROXIES": "10.0.0.1/8"}, {"PIXTRIO_TRUSTED_PROXIES": "10.0.0.0/33"},
])
def test_bad_settings_name_the_variable(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=next(iter(env))):
        Settings.from_env(env)


def test_rate_limit_rules() -> None:
    assert parse_limits("") == DEFAULT_LIMITS
    assert DEFAULT_LIMITS["login_failures_address"] == Limit(5, 900)
    assert DEFAULT_LIMITS["login_failures_account"] == Limit(100, 3600)
    assert {rule: DEFAULT_LIMITS[rule] for rule in (
        "posts", "comments", "likes", "follows", "reports", "uploads", "writes",
        "password_checks", "moderation")} == {
        "posts": Limit(50, 3600), "comments": Limit(60, 3600), "likes": Limit(300, 3600),
        "follows": Limit(200, 86400), "reports": Limit(20, 3600), "uploads": Limit(30, 1800),
        "writes": Limit(100, 3600), "password_checks": Limit(10, 3600),
        "moderation": Limit(1000, 3600)}
    assert parse_limits("reports=5/1m,uploads=off")["reports"] == Limit(5, 60)
    limits = parse_limits("login_ip=500/5m, register_ip=off,login_failures_account=3/1.5h")
    assert limits["login_ip"] == Limit(500, 300)
    assert limits["register_ip"] is None
    assert limits["login_failures_account"] == Limit(3, 5400)
    for bad in ("nosuch=1/1m", "login_ip=0/1m", "login_ip=5", "login_ip=5/1y"):
        with pytest.raises(ValueError):
            parse_limits(bad)


def test_cursors_round_trip_and_refuse_forgeries() -> None:
    cursors = Cursors(b"k" * 32)
    token = cursors.encode("followers", 123456789)
    assert token is not None and cursors.decode("followers", token) == 123456789
    assert cursors.encode("followers", None) is None and cursors.decode("followers", None) is None
    for bad in ("", "!!!", token[:-2] + "AA", "é"):
        if bad:
            with pytest.raises(Malformed):
                cursors.decode("followers", bad)
    with pytest.raises(Malformed):
        cursors.decode("following", token)
    with pytest.raises(Malformed):
        Cursors(b"x" * 32).decode("followers", token)


def test_secret_is_made_once_with_owner_only_mode(tmp_path: Path) -> None:
    first = load_or_create_secret(tmp_path / "d")
    assert len(first) == 32
    assert load_or_create_secret(tmp_path / "d") == first
    mode = stat.S_IMODE((tmp_path / "d" / "signing.key").stat().st_mode)
    assert mode == 0o600


def test_upload_urls_expire(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import time as real_time

    from pixtrio.features.ids import IdGenerator
    from pixtrio.features.media.keys import MediaKeys
    from pixtrio.features.posts import uploads
    from pixtrio.storage.blobs.filesystem import FilesystemBlobStore

    service = uploads.UploadService(b"s" * 32, IdGenerator(1), FilesystemBlobStore(tmp_path),
                                    None, MediaKeys(b"s" * 32), max_bytes=100,  # type: ignore[arg-type]
                                    max_video_bytes=1000)
    grant, url = service.issue(7, "image/png", 10)
    token = url.removeprefix("/upload/")
    assert service.verify(token) == grant
    later = real_time.time() + uploads.UPLOAD_URL_TTL_S + 1
    monkeypatch.setattr(uploads.time, "time", lambda: later)
    with pytest.raises(Forbidden) as refused:
        service.verify(token)
    assert refused.value.code == "upload_url_expired"
