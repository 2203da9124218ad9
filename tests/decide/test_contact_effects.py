"""What an event does to its contact's state: the arguments the event script receives."""

from __future__ import annotations

from decide.contact_effects import ContactRules, _view, queue_contact_event, stage_thresholds
from decide.events import Event
from decide.store.contact_codec import nonce_key
from decide.store.scripts import Batch, Scripts
from decide.tokens import Decision

RULES = ContactRules(86_400, 10.0, 30 * 86_400.0, 7 * 86_400, "lead=10,mql=50")


def decision(channel: str, slot: int | None = 72) -> Decision:
    return Decision("p", "c1", "m", channel, 100, 1.0, 1, 100, 10_000, "nonce1", "click",
                    3600, False, False, slot=slot)  # fmt: skip


def args_of(event: Event) -> list[object]:
    batch = Batch(Scripts())
    queue_contact_event(batch, event, 0.0, RULES, 200.0)
    ((_, args),) = batch.ops
    return list(args[2 + 2 :])  # after sha, key count and the two keys


def event(kind: str, d: Decision | None = None, **props: object) -> Event:
    return Event(0, "e1", kind, "c1", 150.0, d, None, None, None, props)


def test_only_messages_to_a_person_teach_channel_and_send_time() -> None:
    email = args_of(event("click", decision("email")))
    assert (email[22], email[6], email[7], email[8]) == ("e", "engage", 72, 1)
    assert email[9] == nonce_key("nonce1") and len(email[9]) == 9
    web = args_of(event("click", decision("web")))
    assert (web[7], web[8]) == (-1, 0)  # a banner click: no per-send state, no slot
    in_app = args_of(event("click", decision("in_app")))
    assert (in_app[7], in_app[8], in_app[22]) == (-1, 1, "i")  # channel counts, not its hour


def test_suppression_names_its_channels() -> None:
    assert args_of(event("unsubscribed"))[5] == "email,sms,push,web_push"  # never guess
    assert args_of(event("stop"))[5] == "sms"
    assert args_of(event("bounced", decision("email")))[5] == "email"


def test_views_stay_small_enough_for_a_compact_hash() -> None:
    long_persian_path = "/" + "صفحه" * 30
    item = _view(event("page_view", page=long_persian_path))
    assert item.startswith("page:/") and len(item.encode()) <= 48
    assert _view(event("product_view", product="sku-42")) == "product:sku-42"
    assert _view(event("page_view")) == ""


def test_stage_thresholds_follow_the_stage_order() -> None:
    assert stage_thresholds({"sql": 100, "lead": 10, "mql": 50}) == "lead=10,mql=50,sql=100"
