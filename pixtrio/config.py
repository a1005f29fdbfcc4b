"""Settings: every one is an environment variable `PIXTRIO_<NAME>` with a safe default."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from pixtrio.features.ratelimit import DEFAULT_LIMITS, Limit, parse_limits

X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def parse_networks(text: str) -> tuple[Network, ...]:
    """Comma-separated CIDRs (a bare address is its own /32 or /128); raises ValueError
    naming one that is not a network (host bits set included)."""
    networks = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            networks.append(ipaddress.ip_network(part))
        except ValueError as exc:
            raise ValueError(f"{part!r} is not a network in CIDR notation ({exc})") from None
    return tuple(networks)


class ConfigError(ValueError):
    """A setting has a value the server cannot use; the message names the setting."""


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("pixtrio-data")
    redis_url: str | None = None
    redis_cluster: bool = False
    mongodb_url: str | None = None
    valkey_binary: str | None = None
    worker_id: int | None = None
    rate_limits: Mapping[str, Limit | None] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    trusted_proxies: tuple[Network, ...] = ()
    """Peers whose `X-Forwarded-For` is believed (see `edge.client_address`)."""
    log_level: str = "info"
    shutdown_grace: float = 10.0
    max_upload_bytes: int = 25 * 1024 * 1024
    max_avatar_bytes: int = 10 * 1024 * 1024
    media_workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    media_memory_limit: int = 1024 * 1024 * 1024
    media_job_timeout: float = 60.0
    media_visibility_timeout: float = 90.0
    max_video_bytes: int = 100 * 1024 * 1024
    max_video_seconds: float = 60.0
    video_workers: int = 1
    video_job_timeout: float = 900.0
    video_cpu_limit: float = 600.0
    video_memory_limit: int = 4 * 1024 * 1024 * 1024
    video_preset: str = "superfast"
    ffmpeg: str | None = None
    celebrity_threshold: int = 10_000
    like_flush_interval: float = 2.0
    timeline_ttl: int = 14 * 24 * 3600
    post_cache_ttl: int = 600
    ws_auth_timeout: float = 10.0
    ws_ping_interval: float = 25.0
    ws_ping_timeout: float = 20.0
    ws_mailbox: int = 256
    ws_rate: float = 20.0
    ws_burst: int = 40
    events_keep: int = 300
    events_maxlen: int = 1000
    session_token_ttl: int = 24 * 3600
    known_address_ttl: int = 30 * 24 * 3600
    stuck_after: float = 300.0
    media_url_ttl: int = 4 * 3600
    """Seconds a private account's signed media URLs last at least (rounded up to 10 min)."""
    media_privacy_ttl: float = 30.0
    """Seconds the media origin trusts its memory of whether an account is private."""

    @property
    def video_visibility_timeout(self) -> float:
        """A taken video job is reclaimed a minute after its attempt would have timed out."""
        return self.video_job_timeout + 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read `PIXTRIO_*` variables; raises `ConfigError` naming a bad one."""
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(f"PIXTRIO_{name}")
            return value if value not in (None, "") else None

        def number(name: str, kind: type[int] | type[float], default: float) -> float:
            raw = get(name)
            if raw is None:
                return default
            try:
                return kind(raw)
            except ValueError:
                raise ConfigError(f"PIXTRIO_{name} must be a number, got {raw!r}") from None

        try:
            limits = parse_limits(get("RATE_LIMITS") or "")
        except ValueError as exc:
            raise ConfigError(f"PIXTRIO_RATE_LIMITS: {exc}") from None
        try:
            trusted_proxies = parse_networks(get("TRUSTED_PROXIES") or "")
        except ValueError as exc:
            raise ConfigError(f"PIXTRIO_TRUSTED_PROXIES: {exc}") from None
        worker = get("WORKER_ID")
        cluster = (get("REDIS_CLUSTER") or "false").strip().lower()
        if cluster not in BOOLEANS:
            raise ConfigError(f"PIXTRIO_REDIS_CLUSTER must be true or false, got {cluster!r}")
        settings = cls(
            host=get("HOST") or cls.host,
            port=int(number("PORT", int, cls.port)),
            data_dir=Path(get("DATA_DIR") or cls.data_dir),
            redis_url=get("REDIS_URL"),
            redis_cluster=BOOLEANS[cluster],
            mongodb_url=get("MONGODB_URL"),
            valkey_binary=get("VALKEY_BINARY"),
            worker_id=int(number("WORKER_ID", int, 0)) if worker is not None else None,
            rate_limits=limits,
            trusted_proxies=trusted_proxies,
            log_level=(get("LOG_LEVEL") or cls.log_level).lower(),
            shutdown_grace=number("SHUTDOWN_GRACE", float, cls.shutdown_grace),
            max_upload_bytes=int(number("MAX_UPLOAD_BYTES", int, cls.max_upload_bytes)),
            max_avatar_bytes=int(number("MAX_AVATAR_BYTES", int, cls.max_avatar_bytes)),
            media_workers=int(number("MEDIA_WORKERS", int, os.cpu_count() or 1)),
            media_memory_limit=int(number("MEDIA_MEMORY_LIMIT", int, cls.media_memory_limit)),
            media_job_timeout=number("MEDIA_JOB_TIMEOUT", float, cls.media_job_timeout),
            media_visibility_timeout=number(
                "MEDIA_VISIBILITY_TIMEOUT", float, cls.media_visibility_timeout
            ),
            max_video_bytes=int(number("MAX_VIDEO_BYTES", int, cls.max_video_bytes)),
            max_video_seconds=number("MAX_VIDEO_SECONDS", float, cls.max_video_seconds),
            video_workers=int(number("VIDEO_WORKERS", int, cls.video_workers)),
            video_job_timeout=number("VIDEO_JOB_TIMEOUT", float, cls.video_job_timeout),
            video_cpu_limit=number("VIDEO_CPU_LIMIT", float, cls.video_cpu_limit),
            video_memory_limit=int(number("VIDEO_MEMORY_LIMIT", int, cls.video_memory_limit)),
            video_preset=(get("VIDEO_PRESET") or cls.video_preset).lower(),
            ffmpeg=get("FFMPEG"),
            celebrity_threshold=int(number("CELEBRITY_THRESHOLD", int, cls.celebrity_threshold)),
            like_flush_interval=number("LIKE_FLUSH_INTERVAL", float, cls.like_flush_interval),
            timeline_ttl=int(number("TIMELINE_TTL", int, cls.timeline_ttl)),
            post_cache_ttl=int(number("POST_CACHE_TTL", int, cls.post_cache_ttl)),
            ws_auth_timeout=number("WS_AUTH_TIMEOUT", float, cls.ws_auth_timeout),
            ws_ping_interval=number("WS_PING_INTERVAL", float, cls.ws_ping_interval),
            ws_ping_timeout=number("WS_PING_TIMEOUT", float, cls.ws_ping_timeout),
            ws_mailbox=int(number("WS_MAILBOX", int, cls.ws_mailbox)),
            ws_rate=number("WS_RATE", float, cls.ws_rate),
            ws_burst=int(number("WS_BURST", int, cls.ws_burst)),
            events_keep=int(number("EVENTS_KEEP", int, cls.events_keep)),
            events_maxlen=int(number("EVENTS_MAXLEN", int, cls.events_maxlen)),
            session_token_ttl=int(number("SESSION_TOKEN_TTL", int, cls.session_token_ttl)),
            known_address_ttl=int(number("KNOWN_ADDRESS_TTL", int, cls.known_address_ttl)),
            stuck_after=number("STUCK_AFTER", float, cls.stuck_after),
            media_url_ttl=int(number("MEDIA_URL_TTL", int, cls.media_url_ttl)),
            media_privacy_ttl=number("MEDIA_PRIVACY_TTL", float, cls.media_privacy_ttl),
        )
        settings.check()
        return settings

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with the non-None `changes` applied (CLI flags win over the environment)."""
        updated = replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]
        updated.check()
        return updated

    def check(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"PIXTRIO_PORT must be 0..65535, got {self.port}")
        if self.worker_id is not None and not 0 <= self.worker_id < 1024:
            raise ConfigError(f"PIXTRIO_WORKER_ID must be 0..1023, got {self.worker_id}")
        for name in ("max_upload_bytes", "max_avatar_bytes", "media_workers", "media_memory_limit",
                     "media_job_timeout", "media_visibility_timeout", "max_video_bytes",
                     "max_video_seconds", "video_workers", "video_job_timeout",
                     "video_cpu_limit", "video_memory_limit", "celebrity_threshold",
                     "like_flush_interval", "timeline_ttl", "post_cache_ttl",
                     "ws_auth_timeout", "ws_ping_interval", "ws_ping_timeout", "ws_mailbox",
                     "ws_rate", "ws_burst", "events_keep", "events_maxlen",
                     "session_token_ttl", "known_address_ttl", "stuck_after", "media_url_ttl",
                     "media_privacy_ttl"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"PIXTRIO_{name.upper()} must be positive")
        if self.media_visibility_timeout <= self.media_job_timeout:
            raise ConfigError(
                "PIXTRIO_MEDIA_VISIBILITY_TIMEOUT must exceed PIXTRIO_MEDIA_JOB_TIMEOUT, or a"
                " job still running could be handed to a second worker"
            )
        if self.redis_cluster and not (self.redis_url or "").startswith(("redis://", "rediss://")):
            raise ConfigError("PIXTRIO_REDIS_CLUSTER=true needs PIXTRIO_REDIS_URL naming a"
                              " cluster node (redis:// or rediss://)")
        if self.video_preset not in X264_PRESETS:
            raise ConfigError(f"PIXTRIO_VIDEO_PRESET must be one of {', '.join(X264_PRESETS)},"
                              f" got {self.video_preset!r}")
        if self.log_level not in ("debug", "info", "warning", "error"):
            raise ConfigError(f"PIXTRIO_LOG_LEVEL must be debug|info|warning|error, got {self.log_level!r}")
