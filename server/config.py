"""Settings: every one is an environment variable `PIXTRIO_<NAME>` with a safe default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from .ratelimit import DEFAULT_LIMITS, Limit, parse_limits


class ConfigError(ValueError):
    """A setting has a value the server cannot use; the message names the setting."""


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("pixtrio-data")
    redis_url: str | None = None
    mongodb_url: str | None = None
    valkey_binary: str | None = None
    worker_id: int | None = None
    rate_limits: Mapping[str, Limit | None] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    log_level: str = "info"
    shutdown_grace: float = 10.0

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
        worker = get("WORKER_ID")
        settings = cls(
            host=get("HOST") or cls.host,
            port=int(number("PORT", int, cls.port)),
            data_dir=Path(get("DATA_DIR") or cls.data_dir),
            redis_url=get("REDIS_URL"),
            mongodb_url=get("MONGODB_URL"),
            valkey_binary=get("VALKEY_BINARY"),
            worker_id=int(number("WORKER_ID", int, 0)) if worker is not None else None,
            rate_limits=limits,
            log_level=(get("LOG_LEVEL") or cls.log_level).lower(),
            shutdown_grace=number("SHUTDOWN_GRACE", float, cls.shutdown_grace),
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
        if self.log_level not in ("debug", "info", "warning", "error"):
            raise ConfigError(f"PIXTRIO_LOG_LEVEL must be debug|info|warning|error, got {self.log_level!r}")
