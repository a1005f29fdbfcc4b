"""The `pixtrio` command."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import trio

from pixtrio.actors.supervisor import ChildFailedToStart
from pixtrio.config import ConfigError, Settings
from pixtrio.features.errors import NotFound
from pixtrio.features.moderation.roles import ROLES
from pixtrio.logs import configure_logging
from pixtrio.runtime import grant_role, serve_until_signalled
from pixtrio.storage.errors import StorageError
from pixtrio.storage.types import Role

log = logging.getLogger("pixtrio")


def leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    """The plain exceptions inside nested exception groups."""
    found: list[BaseException] = []
    for exc in group.exceptions:
        found.extend(leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pixtrio", description="Pixtrio photo and video server")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the server (settings: PIXTRIO_* variables)")
    serve.add_argument("--host", help="address to listen on (PIXTRIO_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (PIXTRIO_PORT, default 8080)")
    serve.add_argument("--data-dir", type=Path,
                       help="where data lives (PIXTRIO_DATA_DIR, default ./pixtrio-data)")
    admin = commands.add_parser("admin", help="manage roles in the server's metadata store")
    actions = admin.add_subparsers(dest="action", required=True)
    grant = actions.add_parser("grant", help="make a user a moderator or admin")
    grant.add_argument("username")
    grant.add_argument("--role", choices=[r for r in ROLES if r != "user"], default="admin")
    revoke = actions.add_parser("revoke", help="make a moderator or admin a plain user again")
    revoke.add_argument("username")
    for action in (grant, revoke):
        action.add_argument("--data-dir", type=Path,
                            help="where data lives (PIXTRIO_DATA_DIR, as for serve)")
    return parser


def admin(settings: Settings, args: argparse.Namespace) -> int:
    """Run `pixtrio admin grant|revoke` against the store `serve` uses with `settings`."""
    role: Role = args.role if args.action == "grant" else "user"
    try:
        user = trio.run(grant_role, settings, args.username, role)
    except (NotFound, StorageError) as exc:
        print(f"pixtrio: {exc}", file=sys.stderr)
        return 1
    print(f"{user.username} is now {'a plain user' if role == 'user' else f'a {role}'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env().with_overrides(
            host=getattr(args, "host", None), port=getattr(args, "port", None),
            data_dir=args.data_dir,
        )
    except ConfigError as exc:
        print(f"pixtrio: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if args.command == "admin":
        return admin(settings, args)
    failures: list[BaseException] = []
    try:
        trio.run(serve_until_signalled, settings)
    except* (StorageError, ChildFailedToStart) as group:
        failures.extend(leaves(group))
    for failure in failures:
        log.error("pixtrio could not start: %s", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
