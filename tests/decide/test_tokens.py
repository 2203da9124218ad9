"""decision_id tokens: round trip, tampering, unknown keys, rotation."""

from __future__ import annotations

import pytest

from decide.tokens import Decision, Signer, TokenError, parse_keys

DECISION = Decision(
    placement="hero", contact_id="مریم-۱", message="welcome", channel="web", send_at=100,  # noqa: RUF001
    propensity=0.34, policy_version=7, issued_at=100, expires_at=200, nonce="abc",
    reward_event="click", reward_window_s=3600, reward_value=False, exposed_on_decide=False,
    experiment="exp", variation="control", phase=2,
)  # fmt: skip


def test_round_trip_keeps_every_field() -> None:
    signer = Signer([("k1", b"secret")])
    assert signer.verify(signer.sign(DECISION)) == DECISION


def test_any_changed_character_breaks_the_signature() -> None:
    signer = Signer([("k1", b"secret")])
    token = signer.sign(DECISION)
    head, mac = token.rsplit(".", 1)
    for i in range(len("v1.k1."), len(head)):
        changed = head[:i] + ("A" if head[i] != "A" else "B") + head[i + 1 :]
        with pytest.raises(TokenError):
            signer.verify(f"{changed}.{mac}")


def test_rotation_verifies_old_tokens_and_signs_with_the_new_key() -> None:
    old = Signer(parse_keys("k1:first"))
    token = old.sign(DECISION)
    rotated = Signer(parse_keys("k2:second,k1:first"))
    assert rotated.verify(token) == DECISION
    assert rotated.sign(DECISION).startswith("v1.k2.")
    with pytest.raises(TokenError) as error:
        Signer(parse_keys("k2:second")).verify(token)
    assert error.value.reason == "bad_signature"


@pytest.mark.parametrize("token", ["", "v1", "v2.k1.a.b", "v1.k1.%%%.AAAA", "v1.k1.a.b.c"])
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(TokenError):
        Signer([("k1", b"secret")]).verify(token)


@pytest.mark.parametrize("spec", ["", "nokey", ":secret", "k-1:secret"])
def test_bad_key_specs_are_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_keys(spec)
