"""`decide serve` as a user runs it: the embedded server, demo data, restarts, apply/export."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from decide.config.files import demo_config_path
from tests.processes import Served, serving


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "decide-data"


@pytest.fixture
def served(data_dir: Path) -> Iterator[Served]:
    with serving(data_dir, "--demo") as server:
        yield server


def test_demo_serves_and_keeps_variations_across_a_restart(data_dir: Path) -> None:
    first = Served(data_dir, "--demo")
    first.wait_ready()
    request = {
        "contact_id": "c-1842",
        "placement": "homepage_hero",
        "attributes": {"first_name": "Maryam", "locale": "fa"},
    }
    before = httpx.post(first.url + "/v1/decide", json=request).json()
    output = first.stop()
    assert "curl" in output and "/v1/decide" in output  # the demo prints what to paste
    assert not (data_dir / "redis.sock").exists() or not _answers(data_dir / "redis.sock")

    second = Served(data_dir)  # no --demo: the configuration comes back from the AOF
    second.wait_ready()
    try:
        after = httpx.post(second.url + "/v1/decide", json=request).json()
    finally:
        second.stop()
    assert after["assignment"]["variation"] == before["assignment"]["variation"]
    assert after["message"]["content"] == before["message"]["content"]


def test_apply_and_export_through_the_api(served: Served, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        demo_config_path()
        .read_text(encoding="utf-8")
        .replace("Hero banner on the home page", "Edited hero"),
        encoding="utf-8",
    )
    run = subprocess.run(
        [sys.executable, "-m", "decide", "apply", "-f", str(config), "--url", served.url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "placement homepage_hero: updated" in run.stdout
    exported = subprocess.run(
        [sys.executable, "-m", "decide", "config", "export", "--url", served.url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        exported.returncode == 0
        and "Edited hero" in exported.stdout
        and "خوش آمدید" in exported.stdout
    )

    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "placements:\n  p1:\n    channels: [fax]\n    messages: []\n", encoding="utf-8"
    )
    run = subprocess.run(
        [sys.executable, "-m", "decide", "apply", "-f", str(broken), "--url", served.url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1 and "channels[0]" in run.stderr


def test_refuses_a_public_interface_without_keys(data_dir: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "decide", "serve", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DECIDE_DATA_DIR": str(data_dir)},
    )
    assert run.returncode == 2 and "DECIDE_API_KEYS" in run.stderr


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as s:
        try:
            s.connect(str(path))
            return True
        except OSError:
            return False


def test_results_state_and_evaluate_commands(served: Served, tmp_path: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "decide", *args, "--url", served.url],
                              capture_output=True, text=True, timeout=60)  # fmt: skip

    for i in range(30):
        httpx.post(
            served.url + "/v1/decide", json={"contact_id": f"c{i}", "placement": "homepage_hero"}
        )
    shown = cli("results", "hero_copy")
    assert shown.returncode == 0, shown.stderr
    assert "sample ratio p" in shown.stdout and "discount" in shown.stdout

    exported = cli("state", "export", "homepage_hero")
    assert exported.returncode == 0 and '"segments"' in exported.stdout
    saved = tmp_path / "state.json"
    saved.write_text(exported.stdout, encoding="utf-8")
    restored = cli("state", "import", "homepage_hero", "-f", str(saved))
    assert restored.returncode == 0, restored.stderr
    assert cli("results", "nope").returncode == 1
