"""Credit for a conversion to the decisions exposed before it: last touch and linear."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MODELS = ("last_touch", "linear")


@dataclass(frozen=True)
class Touch:
    placement: str
    message: str
    channel: str
    at: float


@dataclass(frozen=True)
class Credit:
    model: str
    touch: Touch
    share: float  # of one conversion (and of its value)


def parse_touch(raw: str | bytes) -> Touch | None:
    """`placement|message|channel|at` as the event script stores it."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    parts = text.split("|")
    if len(parts) != 4:
        return None
    try:
        return Touch(parts[0], parts[1], parts[2], float(parts[3]))
    except ValueError:
        return None


def credit(touches: Sequence[Touch]) -> list[Credit]:
    """Last touch gives the whole conversion to the latest exposure; linear splits it evenly
    over every exposure in the window (each exposure counted, so a message shown twice earns
    twice). Shares sum to 1 per model; no touches, no credit. `touches` come newest first, as
    stored, which breaks ties between exposures in the same second."""
    if not touches:
        return []
    ordered = [t for _, t in sorted(enumerate(touches), key=lambda it: (it[1].at, -it[0]))]
    share = 1.0 / len(ordered)
    return [Credit("last_touch", ordered[-1], 1.0)] + [
        Credit("linear", touch, share) for touch in ordered
    ]
