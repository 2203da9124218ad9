from __future__ import annotations

import pytest

from tests.fuzz import tally


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if tally.COUNTS["total"]:
        terminalreporter.write_line(tally.summary())
