"""Off-policy evaluation joins the decision log with the outcome log as the arm counters see it."""

from __future__ import annotations

from decide.routes.evaluate import join_logs


def _decision(nonce: str, arm: str) -> tuple[bytes, dict[bytes, bytes]]:
    fields = {b"d": nonce, b"a": arm, b"p": "0.5", b"s": "", b"t": "0", b"w": "3600"}
    return b"0-0", {k: v.encode() for k, v in fields.items()}


def _outcome(nonce: str, kind: str, value: float = 0.0) -> tuple[bytes, dict[bytes, bytes]]:
    return b"0-0", {b"d": nonce.encode(), b"k": kind.encode(), b"v": str(value).encode()}


def test_a_replaced_reward_counts_its_last_value_and_a_revoked_one_nothing() -> None:
    decisions = [_decision("d1", "a"), _decision("d2", "b"), _decision("d3", "a")]
    outcomes = [
        _outcome("d1", "exposure"), _outcome("d1", "reward", 5.0),
        _outcome("d1", "reward", 7.0),  # an earlier purchase arrived later: it is the reward
        _outcome("d2", "exposure"), _outcome("d2", "reward", 1.0),
        _outcome("d2", "revoke"),  # an earlier impression put the click out of its window
    ]  # fmt: skip
    rows = join_logs(decisions, outcomes, now=7200)
    assert rows == [("a", 0.5, "", 7.0), ("b", 0.5, "", 0.0)]  # d3: never exposed
