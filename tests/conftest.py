"""Fixtures: a shared real server for the API tests, and clients for it; the end-of-run
line naming the browser tests' screenshot folder."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from pixtrio.testing.browser import run_folder
from pixtrio.testing.server_process import ServerProcess


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One `pixtrio serve` process shared by the API tests of a session."""
    with ServerProcess(tmp_path_factory.mktemp("live") / "data") as server:
        yield server


@pytest.fixture
async def client(live_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        yield http


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter,
                            config: pytest.Config) -> None:
    factory = getattr(config, "_tmp_path_factory", None)  # pytest's own, set by its tmp_path plugin
    if factory is None or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    folder = run_folder(factory.getbasetemp()) / "screenshots"
    if folder.exists():
        terminalreporter.write_line(f"browser screenshots: {folder}")
