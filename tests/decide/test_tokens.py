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


def test_an_old_key_verifies_until_its_grace_period_ends() -> None:
    token = Signer.from_spec("k1:first").sign(DECISION)
    rotated = Signer.from_spec("k2:second,k1:first@2026-12-31")
    end = 1_798_675_200.0  # 2026-12-31T00:00:00Z
    assert rotated.verify(token, now=end - 1) == DECISION
    with pytest.raises(TokenError) as error:
        rotated.verify(token, now=end)
    assert error.value.reason == "key_retired"
    assert rotated.verify(rotated.sign(DECISION), now=end + 10**6) == DECISION  # the new key
    offset = Signer.from_spec("k2:second,k1:first@2026-12-31T03:30:00+03:30")
    with pytest.raises(TokenError):
        offset.verify(token, now=end)  # 03:30 in Tehran is midnight UTC


@pytest.mark.parametrize("spec", ["k1:a@2026-12-31", "k2:b,k1:a@tomorrow"])
def test_a_grace_period_on_the_signing_key_or_not_a_date_is_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        Signer.from_spec(spec)
