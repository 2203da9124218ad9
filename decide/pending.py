"""One contact's decision on its way through the serving phases, and what it ends as."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from decide import decisions, reach
from decide.config.holdouts import Holdout
from decide.contact_state import ContactReads, ContactState
from decide.errors import ApiError
from decide.tokens import Decision


@dataclass
class Pending:
    """One contact's decision on its way through the phases."""

    req: decisions.DecideRequest
    holdout: Holdout | None = None
    reads: ContactReads | None = None
    state: ContactState | None = None  # None: degraded, the store could not be read
    data: dict[str, Any] = field(default_factory=dict)
    reach: reach.Reach | None = None
    segment: str = ""
    arms: tuple[str, ...] = ()
    weights: dict[str, float] | None = None  # a bandit's, for this contact's drawable arms
    choice: decisions.Choice | None = None
    channels: tuple[str, ...] = ()
    timing: reach.Timing | None = None
    token: Decision | None = None
    rendered: dict[str, Any] | None = None  # the message as answered, rendered before recording
    reasons: list[str] = field(default_factory=list)
    error: ApiError | None = None
    recorded: bool = True  # False: the store did not take the decision's write

    @cached_property
    def now(self) -> float:
        return self.req.now.timestamp()


Result = dict[str, Any] | ApiError
