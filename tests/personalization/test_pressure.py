"""Frequency caps over sliding windows: the rule, its edges, and the earliest allowed time."""

from __future__ import annotations

import pytest

from personalization.pressure import (
    CapRule,
    Send,
    blocking_rule,
    earliest_allowed,
    expired_reservations,
    parse_caps,
    parse_sends,
)

DAY = 86_400
EMAIL_3_PER_WEEK = CapRule(3, 7 * DAY, "email")
ANY_5_PER_WEEK = CapRule(5, 7 * DAY)


def sends(*items: tuple[float, str]) -> list[Send]:
    return [Send(at, channel) for at, channel in items]


def test_a_cap_counts_its_channel_only() -> None:
    history = sends((0, "email"), (DAY, "email"), (2 * DAY, "sms"))
    assert blocking_rule(history, [EMAIL_3_PER_WEEK], "email", 3 * DAY) is None
    history.append(Send(2.5 * DAY, "email"))
    assert blocking_rule(history, [EMAIL_3_PER_WEEK], "email", 3 * DAY) == EMAIL_3_PER_WEEK
    assert blocking_rule(history, [EMAIL_3_PER_WEEK], "sms", 3 * DAY) is None


def test_a_cross_channel_cap_ignores_web_content() -> None:
    history = sends(*((i * 3600, c) for i, c in enumerate(["email", "sms", "push", "in_app"])))
    assert blocking_rule(history, [CapRule(4, DAY)], "email", 5 * 3600) == CapRule(4, DAY)
    web = sends(*((i * 3600, "web") for i in range(10)))
    assert blocking_rule(web, [CapRule(4, DAY)], "email", 11 * 3600) is None


@pytest.mark.parametrize(
    ("at", "blocked"),
    [(7 * DAY - 1, True), (7 * DAY, False), (-7 * DAY + 1, True), (-7 * DAY, False)],
)
def test_window_edges_on_both_sides(at: float, blocked: bool) -> None:
    """A send exactly one window away no longer counts; one second inside still does —
    before (sent) and after (scheduled) alike."""
    history = sends((0, "email"))
    rule = CapRule(1, 7 * DAY, "email")
    assert (blocking_rule(history, [rule], "email", at) is not None) is blocked


def test_every_window_holding_a_send_stays_within_the_cap() -> None:
    """Passing the check at t keeps every window of the cap's length within it: brute force
    over a grid of schedules."""
    rule = CapRule(2, 10, "email")
    accepted: list[Send] = []
    for t in (0, 3, 4, 9, 12, 13, 15, 19, 21, 22, 30, 31, 40):
        if blocking_rule(accepted, [rule], "email", t) is None:
            accepted.append(Send(t, "email"))
    for start in range(-10, 45):
        inside = [s for s in accepted if start <= s.at < start + 10]
        assert len(inside) <= 2, (start, accepted)
    assert [s.at for s in accepted] == [0, 3, 12, 13, 22, 30, 40]  # worked out by hand


def test_earliest_allowed_is_when_a_send_leaves_the_window() -> None:
    history = sends((0, "email"), (2 * DAY, "email"), (4 * DAY, "email"))
    assert earliest_allowed(history, [EMAIL_3_PER_WEEK], "email", 5 * DAY, 30 * DAY) == 7 * DAY
    assert earliest_allowed(history, [EMAIL_3_PER_WEEK], "email", 5 * DAY, 6 * DAY) is None
    assert earliest_allowed(history, [EMAIL_3_PER_WEEK], "sms", 5 * DAY, 5 * DAY) == 5 * DAY


def test_parse_caps_names_each_bad_field() -> None:
    rules, problems = parse_caps(
        [{"channel": "email", "max": 3, "days": 7}, {"max": 1, "hours": 24}], "caps",
        ["email", "sms"],
    )  # fmt: skip
    assert problems == [] and rules == (CapRule(3, 7 * DAY, "email"), CapRule(1, DAY))
    _, problems = parse_caps(
        [{"channel": "fax", "max": 1, "days": 1}, {"max": -1, "days": 1},
         {"max": 1, "days": 1, "hours": 2}, {"max": 1, "weeks": 1}, "x"],
        "caps", ["email"],
    )  # fmt: skip
    assert [p[0] for p in problems] == [
        "caps[0].channel", "caps[1].max", "caps[2]", "caps[3].weeks", "caps[3]", "caps[4]",
    ]  # fmt: skip


def test_stored_sends_and_expired_reservations() -> None:
    raw = [b"n1|email", b"100", b"n2|sms", b"200"]
    pending = {b"n1": b"150|email", b"n2": b"500|sms"}
    expired = expired_reservations(pending, now=300)
    assert expired == {"n1"}
    assert parse_sends(raw, expired) == [Send(200.0, "sms", "n2")]
    assert parse_sends([(b"n3|push", 5.0)]) == [Send(5.0, "push", "n3")]
