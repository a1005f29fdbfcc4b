"""Fixtures: a shared real server for the API tests, and clients for it; the Valkey
Cluster of the cluster lane; the end-of-run line naming the browser tests' screenshot
folder."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from pixtrio.testing.browser import run_folder
from pixtrio.testing.server_process import ServerProcess
from pixtrio.testing.valkey_cluster import ValkeyCluster, running_valkey_cluster


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One `pixtrio serve` process shared by the API tests of a session."""
    with ServerProcess(tmp_path_factory.mktemp("live") / "data") as server:
        yield server


@pytest.fixture
async def client(live_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        yield http


@pytest.fixture(scope="session")
def valkey_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ValkeyCluster]:
    """One 3-primary Valkey Cluster shared by the cluster lane of a session."""
    with running_valkey_cluster(tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster


@pytest.fixture(params=["one", pytest.param("cluster", marks=pytest.mark.cluster)])
def cluster(request: pytest.FixtureRequest) -> ValkeyCluster | None:
    """Runs a test twice: on a Valkey of its own (None), then, in the cluster lane
    (`pytest -m cluster`), on the shared cluster, which the test empties first."""
    if request.param == "cluster":
        return request.getfixturevalue("valkey_cluster")  # type: ignore[no-any-return]
    return None


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
