"""The README's tutorial, run as a reader would: every block in order against a fresh server.

Each ```bash block between `<!-- tutorial -->` and `<!-- /tutorial -->` runs in bash, in one
folder, with the server's address put where the README says http://127.0.0.1:8080. The output
block that follows it is what the reader is promised: every line of a ```text block must be
printed, and every `"key": "value"` of a ```json block (but elided `…` values and times,
which depend on the day) must be in the answer.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.processes import Served, serving

README = Path(__file__).resolve().parents[2] / "README.md"
README_URL = "http://127.0.0.1:8080"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.S | re.M)
PAIR = re.compile(r'"(\w+)": "([^"]*)"')
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT")


@dataclass
class Step:
    script: str
    promised: tuple[str, str] | None  # the output block that follows: (language, text)


def tutorial_steps() -> list[Step]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("<!-- tutorial -->") : text.index("<!-- /tutorial -->")]
    blocks = [(m.group(1), m.group(2)) for m in FENCE.finditer(section)]
    steps = []
    for i, (language, body) in enumerate(blocks):
        if language == "bash":
            after = blocks[i + 1] if i + 1 < len(blocks) else None
            steps.append(Step(body, after if after and after[0] in ("text", "json") else None))
    return steps


def promises(language: str, text: str) -> list[str]:
    """What the output must contain: lines of a text block, compact pairs of a json one."""
    if language == "text":
        return [line.rstrip() for line in text.splitlines() if line.strip()]
    return [
        f'"{key}":"{value}"'
        for key, value in PAIR.findall(text)
        if "…" not in value and not TIMESTAMP.match(value)
    ]


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Served]:
    # Nothing configured: the tutorial brings everything. The seed fixes the one random
    # draw the tutorial shows (Maryam's primary channel, by Thompson sampling).
    with serving(tmp_path / "data", env={"DECIDE_SEED": "7"}) as server:
        yield server


def test_the_tutorial_has_steps_and_promises() -> None:
    steps = tutorial_steps()
    assert len(steps) >= 5
    assert sum(len(promises(*s.promised)) for s in steps if s.promised) >= 10


@pytest.mark.slow
def test_every_tutorial_command_works_as_the_readme_says(
    fresh_server: Served, tmp_path: Path
) -> None:
    folder = tmp_path / "reader"
    folder.mkdir()
    bin_dir = str(Path(sys.executable).parent)  # `decide` and `python` of this environment
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    env["DECIDE_URL"] = fresh_server.url
    for number, step in enumerate(tutorial_steps(), 1):
        script = step.script.replace(README_URL, fresh_server.url)
        run = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0, f"step {number} failed:\n{script}\n{run.stderr}"
        if step.promised:
            missing = [p for p in promises(*step.promised) if p not in run.stdout]
            assert not missing, f"step {number} did not print {missing}:\n{run.stdout}"
