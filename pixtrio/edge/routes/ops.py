"""Operator routes: health, readiness and metrics."""

from __future__ import annotations

from typing import Any

import trio
from quart import Blueprint, Response
from quart_schema import document_response

from pixtrio.edge.openapi import body, extra
from pixtrio.edge.services import services
from pixtrio.protocol.rest import HealthOut
from pixtrio.storage.errors import StorageError

bp = Blueprint("ops", __name__)
READY_WITHIN_S = 2.0


@bp.get("/healthz")
@document_response(HealthOut)
async def healthz() -> dict[str, Any]:
    """Alive: the process answers."""
    return {"status": "ok"}


@bp.get("/metrics")
@extra(responses={200: body("Prometheus text exposition format 0.0.4.", "text/plain")})
async def metrics() -> Response:
    """Prometheus metrics of this process.

    Websocket sessions and how they ended, and metadata-store operations."""
    s = services()
    hub = s.realtime.hub
    lines = [
        "# HELP pixtrio_ws_sessions Open websocket sessions in this process.",
        "# TYPE pixtrio_ws_sessions gauge",
        f"pixtrio_ws_sessions {hub.session_count}",
        "# HELP pixtrio_ws_closes_total Websocket sessions ended, by close code"
        " (4008: too slow, 4001: signed out).",
        "# TYPE pixtrio_ws_closes_total counter",
        *(f'pixtrio_ws_closes_total{{code="{code}"}} {count}'
          for code, count in sorted(hub.closes.items())),
        "# HELP pixtrio_metadata_operations_total Metadata-store calls made by this process.",
        "# TYPE pixtrio_metadata_operations_total counter",
        f"pixtrio_metadata_operations_total {s.store.operations}",
    ]
    return Response("\n".join(lines) + "\n", content_type="text/plain; version=0.0.4")


@bp.get("/readyz")
@document_response(HealthOut)
@document_response(HealthOut, 503)
async def readyz() -> tuple[dict[str, Any], int]:
    """Ready: the metadata store, Redis and the blob store answer within two seconds."""
    checks: dict[str, str] = {}
    depth: dict[str, int] = {}

    async def queue_depth() -> None:
        depth["media"] = await s.media_jobs.depth()
        depth["video"] = await s.video_jobs.depth()

    async def check(name: str, probe: Any) -> None:
        try:
            with trio.fail_after(READY_WITHIN_S):
                await probe()
            checks[name] = "ok"
        except (StorageError, trio.TooSlowError) as exc:
            checks[name] = f"failing: {exc or 'no answer'}"

    s = services()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(check, "metadata", s.store.ping)
        nursery.start_soon(check, "redis", s.redis_ping)
        nursery.start_soon(check, "blobs", s.blobs.ping)
        nursery.start_soon(check, "media_queue", queue_depth)
    ready = all(v == "ok" for v in checks.values())
    answer = {"status": "ready" if ready else "not_ready", "checks": checks,
              "media_queue_depth": depth.get("media"), "video_queue_depth": depth.get("video")}
    return answer, 200 if ready else 503
