"""Key building: caller ids can neither collide nor escape their hash tag."""

from __future__ import annotations

from decide.store import keys


def _slot_tag(key: str) -> str:
    start = key.index("{")
    return key[start + 1 : key.index("}", start + 1)]


def test_ids_that_look_like_keys_do_not_collide() -> None:
    tricky = ["ab", "ab}:seen:x", "ab}", "{ab", "a:b", "a%3Ab", "مریم", "😀"]
    seen = {keys.event_seen(c, "x}:beh") for c in tricky} | {keys.behaviour(c) for c in tricky}
    assert len(seen) == 2 * len(tricky)


def test_a_contacts_keys_share_one_hash_tag() -> None:
    for contact in ["ab}:x", "{x}", "plain", "a:b:c"]:
        tags = {_slot_tag(keys.event_seen(contact, "e1")), _slot_tag(keys.behaviour(contact))}
        assert len(tags) == 1 and "}" not in tags.pop()


def test_a_decisions_keys_share_the_placements_tag() -> None:
    assert _slot_tag(keys.arm_stats("hero", "fa")) == _slot_tag(keys.decision_state("hero", "n1"))
    assert _slot_tag(keys.experiment_assignments("e", 2)) == _slot_tag(
        keys.experiment_totals("e", 2)
    )


def test_counter_keys_parse_back_to_segment_and_day() -> None:
    for segment in ["", "fa", "a:b", "x}:day3"]:
        assert keys.parse_arm_stats("hero", keys.arm_stats("hero", segment)) == (segment, None)
        daily = keys.arm_stats_daily("hero", segment, 20_781)
        assert keys.parse_arm_stats("hero", daily) == (segment, 20_781)
