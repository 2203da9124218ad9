"""Render time per decision: one message with two tokens and a localised date, rendered for a
Persian and an English contact, on one channel and on two.

    python -m loadtest.render_time
"""

from __future__ import annotations

import timeit

from decide import decisions
from decide.config.placements import parse_placement

PLACEMENT = {
    "channels": ["web", "email"],
    "policy": {"type": "rule", "message": "m"},
    "messages": [{"key": "m", "content": {
        "web": {"headline": {
            "en": "Hi {{ contact.first_name | default: 'there' }}, born "
                  "{{ contact.birthday | format_date: 'long' }}",
            "fa": "سلام {{ contact.first_name | default: 'دوست' }}، تولد "
                  "{{ contact.birthday | format_date: 'long' }}"}},
        "email": {"subject": "Hi {{ contact.first_name }}",
                  "html": "<p>Hi {{ contact.first_name }}</p>"}}}],
}  # fmt: skip
DATA = {
    "contact": {"first_name": "Sara", "birthday": "1990-03-21", "timezone": "Asia/Tehran"},
    "behaviour": {},
    "context": {},
}


def main() -> int:
    message = parse_placement("p", PLACEMENT).messages["m"]
    for locale, channels in (("fa", ["web"]), ("en", ["web"]), ("fa", ["web", "email"])):
        n = 20_000

        def render(channels: list[str] = channels, locale: str = locale) -> None:
            decisions.render(message, channels, locale, DATA)

        runs = timeit.repeat(render, number=n, repeat=5)
        print(f"{locale} {'+'.join(channels):<10} {min(runs) / n * 1e6:6.1f} µs per decision")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
