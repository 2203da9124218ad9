"""Key building: caller ids can neither collide nor escape their hash tag."""

from __future__ import annotations

from redis.crc import key_slot

from decide.store import keys


def _slot_tag(key: str) -> str:
    start = key.index("{")
    return key[start + 1 : key.index("}", start + 1)]


def test_ids_that_look_like_keys_do_not_collide() -> None:
    tricky = ["ab", "ab}:seen:x", "ab}", "{ab", "a:b", "a%3Ab", "مریم", "😀"]
    seen = {keys.event_seen(c, "x}:beh") for c in tricky} | {keys.contact_state(c) for c in tricky}
    assert len(seen) == 2 * len(tricky)


def test_a_contacts_keys_share_one_hash_tag() -> None:
    for contact in ["ab}:x", "{x}", "plain", "a:b:c"]:
        tags = {_slot_tag(keys.event_seen(contact, "e1")), _slot_tag(keys.contact_state(contact))}
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


# --- Redis Cluster: every script's KEYS, and every MULTI/EXEC, in one hash slot -------------

CONTACTS = ["c1", "ab}:x", "{x}", "a:b:c", "مریم", "%7B", ""]
PLACEMENTS = ["hero", "home.page_hero-2"]
EXPERIMENTS = ["exp", "ab-test.v2"]
SEGMENTS = ["", "fa", "a:b", "x}:day3"]


def _one_slot(*names: str) -> bool:
    return len({key_slot(name.encode()) for name in names}) == 1


def test_contact_scripts_keys_share_a_slot() -> None:
    for c in CONTACTS:
        # read_contact.lua, apply_contact_event.lua, put_profile.lua; the migration's
        # MULTI/EXEC over the legacy keys and the state hash
        assert _one_slot(keys.profile(c), keys.contact_state(c), keys.shown(c),
                         keys.bandit_sticky(c))  # fmt: skip
        assert _one_slot(keys.event_seen(c, "e}1"), keys.contact_state(c),
                         *(keys.legacy_part(c, part) for part in keys.LEGACY_PARTS))  # fmt: skip
        # the merge's MULTI/EXEC writes the known contact's keys and the marker
        for other in CONTACTS:
            assert _one_slot(keys.merged_from(c, other), keys.profile(c), keys.shown(c))


def test_placement_scripts_keys_share_a_slot() -> None:
    for p in PLACEMENTS:
        counters = [keys.arm_stats(p, s) for s in SEGMENTS]
        counters += [keys.arm_stats_daily(p, s, 20_781) for s in SEGMENTS]
        # apply_decision_event.lua; the state import's MULTI/EXEC over every counter
        assert _one_slot(keys.decision_state(p, "n1"), keys.outcome_log(p), *counters)


def test_experiment_scripts_keys_share_a_slot() -> None:
    for e in EXPERIMENTS:
        for phase in (1, 2):
            # record_exposure.lua and apply_metric_event.lua
            assert _one_slot(
                keys.experiment_seen(e, "ev}1"),
                keys.experiment_assignments(e, phase),
                keys.experiment_totals(e, phase),
                keys.experiment_daily(e, phase, 20_781),
                *(keys.experiment_user_values(e, phase, m) for m in ("conv", "revenue")),
                *(keys.experiment_covariates(e, phase, m) for m in ("conv", "revenue")),
            )


def test_config_keys_share_a_slot() -> None:
    # put_config.lua / delete_config.lua, and the config load's MULTI/EXEC
    assert _one_slot(keys.CONFIG_VERSION, keys.PLACEMENTS, keys.EXPERIMENTS, keys.HOLDOUTS,
                     keys.SEGMENTS, keys.WORKSPACE, keys.SIGNING_KEY)  # fmt: skip


def test_contacts_spread_over_the_slots() -> None:
    """The per-contact tag is what spreads the data: 3,000 contacts reach most of 16,384 slots
    and every third of them (one master each in a 3-master cluster)."""
    slots = [key_slot(keys.contact_state(f"contact-{i}").encode()) for i in range(3_000)]
    thirds = [sum(1 for s in slots if s * 3 // 16_384 == third) for third in range(3)]
    assert len(set(slots)) > 2_500
    assert min(thirds) > 800, thirds
