"""Chaos tests: real processes with faults injected (a store killed, paused or restarted, a
worker killed, replays, broken config). What each test measured is printed at the end of the
pytest run (a terminal-summary section), so CI logs show the numbers, passing or not."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from decide.store.embedded import EmbeddedServer

MEASURED: list[tuple[str, str]] = []
Report = Callable[[str], None]


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Report:
    def add(line: str) -> None:
        MEASURED.append((request.node.name, line))
        print(line)

    return add


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not MEASURED:
        return
    terminalreporter.section("chaos measurements")
    for test, line in MEASURED:
        terminalreporter.write_line(f"{test}: {line}")


def latency_summary(seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return f"n={len(ms)} p50={statistics.median(ms):.1f} ms p99={p99:.1f} ms max={ms[-1]:.1f} ms"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    """A valkey-server decide does not own (REDIS_URL), AOF with appendfsync always."""
    server = EmbeddedServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()
