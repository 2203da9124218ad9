"""A placement's outreach fields: validated once, named when wrong."""

from __future__ import annotations

from datetime import time

import yaml

from decide.config.checks import Checks
from decide.config.outreach import parse_outreach, parse_quiet_hours


def test_clock_times_written_unquoted_in_yaml_still_parse() -> None:
    c = Checks()
    doc = yaml.safe_load("quiet_hours: {start: 21:00, end: 08:00}")["quiet_hours"]
    assert doc == {"start": 1260, "end": "08:00"}  # YAML 1.1 reads 21:00 as base 60
    assert parse_quiet_hours(c, doc, "quiet_hours") == (time(21), time(8)) and c.ok()


def test_every_bad_outreach_field_is_named() -> None:
    c = Checks()
    parse_outreach(
        c,
        {
            "channel": {"type": "learned", "cost": {"fax": 1}, "consent": "maybe"},
            "send_time": {"type": "soon", "window": {"start": "9am"}},
            "quiet_hours": {"start": "21:00", "end": "21:00"},
            "frequency_caps": [{"max": 1}],
            "goal": {"within_days": 3},
            "no_repeat": {"days": -1},
            "trigger": {"type": "payday"},
        },
        ("email", "sms"),
    )
    assert {p.field for p in c.problems} == {
        "channel.cost.fax", "channel.consent", "send_time.type", "send_time.window.start",
        "send_time.window.end",
        "quiet_hours", "frequency_caps[0]", "goal.event", "no_repeat.days", "trigger.type",
    }  # fmt: skip


def test_design_md_example_shape_is_accepted() -> None:
    c = Checks()
    outreach = parse_outreach(
        c,
        {
            "channel": {"type": "learned", "max_fallbacks": 2, "cost": {"sms": 0.02}},
            "send_time": {
                "type": "learned",
                "within_hours": 24,
                "default_hour": 10,
                "quiet_hours": {"start": "21:00", "end": "09:00"},
            },
            "frequency_caps": [{"channel": "email", "max": 3, "days": 7}],
            "goal": {"event": "purchase"},
            "no_repeat": True,
        },
        ("email", "sms", "push"),
    )
    assert c.ok(), c.problems
    assert outreach.quiet_hours == (time(21), time(9)) and outreach.send_time.hour == 10
    assert outreach.channel.require_address and outreach.no_repeat_s == 0
