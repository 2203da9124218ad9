"""`decide apply --dry-run` against a real `decide serve`: a diff, exit codes as `kubectl
diff` (0 same, 1 different, 2 error), and nothing written."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from decide.config.files import demo_config_path
from tests.processes import Served, serving

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("dry-run"), "--demo") as server:
        yield server


def _decide(served: Served, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "decide", *args, "--url", served.url],
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def _versions(served: Served) -> dict[str, int]:
    return {path: httpx.get(served.url + path).json()["version"]
            for path in ("/v1/placements/homepage_hero", "/v1/placements/cart_reminder",
                         "/v1/experiments/hero_copy")}  # fmt: skip


def test_an_exported_config_round_trips_with_no_changes(served: Served, tmp_path: Path) -> None:
    exported = _decide(served, "config", "export")
    assert exported.returncode == 0, exported.stderr
    config = tmp_path / "exported.yaml"
    config.write_text(exported.stdout, encoding="utf-8")
    run = _decide(served, "apply", "-f", str(config), "--dry-run")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "---" not in run.stdout and "would be" not in run.stdout
    assert "0 to create, 0 to update, 3 unchanged; nothing was changed" in run.stdout
    # the demo file as written (defaults left out) is what is live, too
    assert _decide(served, "apply", "-f", str(demo_config_path()), "--dry-run").returncode == 0


def test_a_change_is_shown_and_not_applied(served: Served, tmp_path: Path) -> None:
    document = yaml.safe_load(demo_config_path().read_text(encoding="utf-8"))
    document["placements"]["homepage_hero"]["description"] = "قهرمان ویرایش‌شده"
    for variation, weight in zip(document["experiments"]["hero_copy"]["variations"],
                                 (0.5, 0.25, 0.25), strict=True):  # fmt: skip
        variation["weight"] = weight  # a new phase
    document["placements"]["extra"] = document["placements"].pop("cart_reminder")
    config = tmp_path / "edited.yaml"
    config.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    before = _versions(served)

    run = _decide(served, "apply", "-f", str(config), "--dry-run")
    assert run.returncode == 1, run.stdout + run.stderr
    out = run.stdout
    assert "--- live/placement homepage_hero\n+++ file/placement homepage_hero" in out
    assert "-description: Hero banner on the home page, A/B/C tested" in out
    assert "+description: قهرمان ویرایش‌شده" in out
    assert "-phase: 1\n+past_phases:\n+- phase: 1\n" in out  # phase 1's split is kept
    assert "+phase: 2" in out and "+  weight: 0.5" in out
    assert "--- /dev/null\n+++ file/placement extra" in out
    assert "placement extra: would be created" in out
    assert "placement cart_reminder: live, not in the file (apply does not delete)" in out
    assert "1 to create, 2 to update, 0 unchanged; nothing was changed" in out
    assert _versions(served) == before  # nothing written
    assert httpx.get(served.url + "/v1/placements/extra").status_code == 404

    applied = _decide(served, "apply", "-f", str(config))
    assert applied.returncode == 0, applied.stderr
    # what the dry run predicted is what the server stored: nothing left to change
    again = _decide(served, "apply", "-f", str(config), "--dry-run")
    assert again.returncode == 0, again.stdout
    assert httpx.get(served.url + "/v1/experiments/hero_copy").json()["phase"] == 2


def test_an_invalid_document_is_an_error(served: Served, tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("placements:\n  broken:\n    channels: [fax]\n", encoding="utf-8")
    run = _decide(served, "apply", "-f", str(config), "--dry-run")
    assert run.returncode == 2 and "channels" in run.stderr
    assert httpx.get(served.url + "/v1/placements/broken").status_code == 404
