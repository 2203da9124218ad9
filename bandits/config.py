"""A bandit policy's settings, and their validation from a placement's JSON policy document."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

ALGORITHMS: Final = (
    "thompson",
    "gaussian_thompson",
    "ucb1",
    "ucb_tuned",
    "epsilon_greedy",
    "softmax",
    "uniform",
)
REWARDS: Final = ("binary", "value")
MAX_FLOOR: Final = 0.5
MIN_MC_DRAWS: Final = 100
MAX_MC_DRAWS: Final = 100_000


@dataclass(frozen=True)
class BanditConfig:
    """How a bandit turns arm statistics into the probability of choosing each arm.

    ``reward`` is not read by :func:`parse_bandit_config`: the caller derives it from the
    placement's reward spec and sets it with ``dataclasses.replace``.
    """

    algorithm: str = "thompson"  # one of ALGORITHMS
    reward: str = "binary"  # binary (Beta-Bernoulli) | value (Gaussian, e.g. revenue)
    floor: float = 0.0  # minimum share of all traffic per drawable arm
    control: str | None = None  # an arm held at a fixed share, outside the bandit …
    control_share: float = 0.0  # … of this size
    warmup: int = 0  # uniform until every bandit arm has at least this many trials
    epsilon: float = 0.1  # epsilon_greedy: share spread uniformly
    temperature: float = 0.1  # softmax, in reward units
    prior_strength: float = 1000.0  # hierarchical: cap on the population prior's pseudo-trials
    stop_loss: float | None = None  # stop exploring when value remaining < stop_loss * best mean
    mc_draws: int = 2000  # Monte-Carlo draws behind Thompson propensities and the stop rule


Problem = tuple[str, str]
# Each check returns the reason a value is invalid, or None when it is valid.
_Check = Callable[[Any], str | None]


def _is_number(value: Any) -> bool:
    # bool is a subclass of int, but ``true`` is not a share.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_integer(value: Any) -> bool:
    return _is_number(value) and float(value).is_integer()


def _between(low: float, high: float) -> _Check:
    def check(value: Any) -> str | None:
        if _is_number(value) and low <= value <= high:
            return None
        return f"must be between {low:g} and {high:g}"

    return check


def _check_algorithm(value: Any) -> str | None:
    return None if value in ALGORITHMS else "must be one of " + ", ".join(ALGORITHMS)


def _check_control(value: Any) -> str | None:
    return None if value is None or (isinstance(value, str) and value) else "must be an arm key"


def _check_control_share(value: Any) -> str | None:
    return None if _is_number(value) and 0 <= value < 1 else "must be at least 0 and below 1"


def _check_warmup(value: Any) -> str | None:
    return None if _is_integer(value) and value >= 0 else "must be a whole number of at least 0"


def _check_temperature(value: Any) -> str | None:
    return None if _is_number(value) and value > 0 else "must be a number above 0"


def _check_prior_strength(value: Any) -> str | None:
    return None if _is_number(value) and value >= 0 else "must be a number of at least 0"


def _check_stop_loss(value: Any) -> str | None:
    if value is None or (_is_number(value) and 0 < value < 1):
        return None
    return "must be null or a number above 0 and below 1"


def _check_mc_draws(value: Any) -> str | None:
    if _is_integer(value) and MIN_MC_DRAWS <= value <= MAX_MC_DRAWS:
        return None
    return f"must be a whole number between {MIN_MC_DRAWS} and {MAX_MC_DRAWS}"


_CHECKS: Final[Mapping[str, _Check]] = {
    "algorithm": _check_algorithm,
    "floor": _between(0.0, MAX_FLOOR),
    "control": _check_control,
    "control_share": _check_control_share,
    "warmup": _check_warmup,
    "epsilon": _between(0.0, 1.0),
    "temperature": _check_temperature,
    "prior_strength": _check_prior_strength,
    "stop_loss": _check_stop_loss,
    "mc_draws": _check_mc_draws,
}
_INTEGERS: Final = frozenset({"warmup", "mc_draws"})
_FLOATS: Final = frozenset({"floor", "control_share", "epsilon", "temperature", "prior_strength"})


def parse_bandit_config(
    doc: Mapping[str, Any], path: str = "policy"
) -> tuple[BanditConfig, list[Problem]]:
    """Read the bandit settings from a policy document; return them and every problem found.

    Only the keys of :class:`BanditConfig` other than ``reward`` are read; other keys (``type``,
    ``reward``, ``segment_by`` …) belong to the caller and are ignored. A missing key takes its
    default; an invalid one is reported as ``(field path, reason)`` and takes its default too,
    so the returned config is always usable.
    """
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    for name, check in _CHECKS.items():
        if name not in doc:
            continue
        reason = check(doc[name])
        if reason is not None:
            problems.append((f"{path}.{name}", reason))
        elif name in _INTEGERS:
            values[name] = int(doc[name])
        elif name in _FLOATS or (name == "stop_loss" and doc[name] is not None):
            values[name] = float(doc[name])
        else:
            values[name] = doc[name]
    config = BanditConfig(**values)
    # A control without a share, or a share without a control, is a half-written setting;
    # checked only when both fields are individually valid, so one mistake is one problem.
    reported = {field for field, _ in problems}
    if not reported & {f"{path}.control", f"{path}.control_share"}:
        if config.control is not None and config.control_share == 0:
            problems.append((f"{path}.control_share", "must be above 0 when control is set"))
        if config.control is None and config.control_share > 0:
            problems.append((f"{path}.control", "is required when control_share is above 0"))
    return config, problems
