"""Time per contact of what a decision does with the packed behaviour hash before it filters:
decode the fields (`contact_codec.decode_behaviour`) and build the `behaviour.*` view
(`behaviour_view`), in-process, no Redis.

    python -m loadtest.behaviour_decode [--number 20000] [--repeat 7]

Three contacts, packed as the store keeps them (`contact_codec.encode`): `typical` (60 days as
loadtest/contact_memory.py drives them: deliveries, opens, clicks, page and product views, a
cart and a purchase, three channels, revenue, a score and a stage), `fresh` (a first page view
and a cart) and `sends` (no event yet, two reserved sends: `bench batch`'s contacts after its first
round). Printed: the best of
`repeat` runs, µs per contact, without and with scoring rules (which decay the score).
"""

from __future__ import annotations

import argparse
import timeit
from collections.abc import Callable

from decide.store import contact_codec
from personalization.behaviour import behaviour_view
from personalization.scoring import ScoringRules, parse_scoring

NOW = 1_793_400_000.0
DAY = 86_400.0


def _typical() -> dict[str, str]:
    at = {"delivered": 1, "open": 2, "click": 4, "page_view": 0.5, "product_view": 0.7,
          "cart_update": 20, "purchase": 19, "machine_open": 0}  # fmt: skip
    counts = {"delivered": 60, "open": 10, "click": 3, "page_view": 18, "product_view": 9,
              "cart_update": 2, "purchase": 1, "machine_open": 2}  # fmt: skip
    fields = {f"n:{kind}": str(n) for kind, n in counts.items()}
    fields |= {f"last:{kind}": str(int(NOW - days * DAY)) for kind, days in at.items() if days}
    fields |= {"ch:email:d": "41", "ch:email:e": "9", "ch:sms:d": "12", "ch:sms:e": "1",
               "ch:push:d": "7", "ch:push:e": "0"}  # fmt: skip
    views = [f"page:/p/{i}" for i in range(6)] + [f"product:sku-{i}" for i in range(4)]
    return fields | {
        "first_seen": str(int(NOW - 60 * DAY)), "views": "\x1f".join(views),
        "cart": f"0|0|{int(NOW - 19 * DAY)}", "rev:EUR": "59.0", "score": "23.5",
        "score_at": repr(NOW - 2 * DAY), "stage": "lead", "sup:sms": str(int(NOW - 9 * DAY)),
    }  # fmt: skip


def _fresh() -> dict[str, str]:
    return {"n:page_view": "1", "last:page_view": str(int(NOW - 600)),
            "n:cart_update": "1", "last:cart_update": str(int(NOW - 300)),
            "first_seen": str(int(NOW - 600)), "views": "page:/",
            "cart": f"1|19.9|{NOW - 300}"}  # fmt: skip


CONTACTS: dict[str, Callable[[], dict[str, str]]] = {
    "typical": _typical, "fresh": _fresh, "sends": dict,
}  # fmt: skip
SENDS = [
    contact_codec.Entry(contact_codec.LIVE | contact_codec.CAP | contact_codec.PENDING, "e", 0,
                        int(NOW - i * DAY), 0, bytes(9), int(NOW + 3600), int(NOW + 7 * DAY))
    for i in range(2)
]  # fmt: skip


def scoring_rules() -> ScoringRules:
    """Lead scoring with decay, inactivity and stages: every part behaviour_view may run."""
    rules, problems = parse_scoring(
        {"half_life_days": 30, "rules": [{"event": "click", "points": 5}],
         "inactivity": {"after_days": 30, "points_per_week": -5},
         "stages": {"lead": 10, "mql": 50, "sql": 100}},
        "scoring",
    )  # fmt: skip
    assert rules is not None, problems
    return rules


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.behaviour_decode")
    parser.add_argument("--number", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    rules = scoring_rules()
    for name, make in CONTACTS.items():
        entries = SENDS if name == "sends" else []
        packed = contact_codec.encode(contact_codec.ContactState(make(), entries=entries))
        for label, scoring in (("no scoring", None), ("scoring", rules)):

            def once(packed: dict[bytes, bytes] = packed, s: ScoringRules | None = scoring) -> None:
                behaviour_view(contact_codec.decode_behaviour(packed), now=NOW, scoring=s)

            runs = timeit.repeat(once, number=args.number, repeat=args.repeat)
            best = min(runs) / args.number * 1e6
            print(f"{name:<8} {label:<11} {len(packed):3d} fields  {best:6.2f} µs per contact")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
