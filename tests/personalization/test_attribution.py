"""Last-touch and linear credit over the touches before a conversion."""

from __future__ import annotations

import pytest

from personalization.attribution import Touch, credit, parse_touch


def test_last_touch_and_linear_shares() -> None:
    touches = [Touch("cart", "a", "email", 30), Touch("hero", "b", "web", 10),
               Touch("cart", "a", "sms", 20)]  # fmt: skip
    credits = credit(touches)
    last = [c for c in credits if c.model == "last_touch"]
    linear = [c for c in credits if c.model == "linear"]
    assert [(c.touch.channel, c.share) for c in last] == [("email", 1.0)]
    assert [c.touch.at for c in linear] == [10, 20, 30]
    assert sum(c.share for c in linear) == pytest.approx(1.0)
    assert credit([]) == []


def test_stored_touches_parse_or_are_skipped() -> None:
    assert parse_touch(b"cart|a|email|1795000000.5") == Touch("cart", "a", "email", 1795000000.5)
    assert parse_touch("cart|a|email") is None and parse_touch("p|m|c|soon") is None


def test_exposures_in_the_same_second_keep_their_stored_order() -> None:
    newest_first = [Touch("p", "m", "sms", 5), Touch("p", "m", "email", 5)]
    (last,) = [c for c in credit(newest_first) if c.model == "last_touch"]
    assert last.touch.channel == "sms"
