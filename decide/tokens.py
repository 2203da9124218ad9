"""decision_id: a self-contained, HMAC-signed record of a decision.

An event names its decision by this token, so it is attributed without a lookup; the
signature means it cannot be forged, and the contact inside it means it cannot be replayed
for another contact. Keys rotate: the first key signs, every listed key verifies, an old key
until the end of its grace period when one is given.
Format: `v1.<key id>.<base64url JSON payload>.<base64url HMAC-SHA256, 16 bytes>`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

import orjson

_FIELDS = {
    "placement": "p",
    "contact_id": "c",
    "message": "m",
    "experiment": "e",
    "variation": "v",
    "phase": "ph",
    "segment": "sg",
    "channel": "ch",
    "send_at": "sa",
    "propensity": "pr",
    "policy_version": "pv",
    "issued_at": "ia",
    "expires_at": "ex",
    "nonce": "n",
    "reward_event": "re",
    "reward_window_s": "rw",
    "reward_value": "rv",
    "exposed_on_decide": "od",
    "daily": "dy",
    "slot": "sl",
    "language": "lg",
}
_NAMES = {short: name for name, short in _FIELDS.items()}


@dataclass(frozen=True)
class Decision:
    placement: str
    contact_id: str
    message: str
    channel: str
    send_at: int  # epoch seconds of the send slot
    propensity: float
    policy_version: int
    issued_at: int
    expires_at: int
    nonce: str
    reward_event: str
    reward_window_s: int
    reward_value: bool
    exposed_on_decide: bool
    experiment: str | None = None
    variation: str | None = None
    phase: int | None = None
    segment: str = ""
    daily: bool = False  # also count in daily buckets (placements that forget old data)
    slot: int | None = None  # the send's local hour of week (0 = Monday 00:00), for send-time
    language: str | None = None  # the contact's language: its send-time segment


_ORDER = tuple((f.name, _FIELDS[f.name]) for f in fields(Decision))


class TokenError(ValueError):
    """`reason` is the machine-readable cause an event is rejected with."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Signer:
    def __init__(
        self, keys: list[tuple[str, bytes]], retire_at: dict[str, float] | None = None
    ) -> None:
        if not keys:
            raise ValueError("at least one signing key is required")
        self.current = keys[0]
        self.keys = dict(keys)
        self.retire_at = retire_at or {}  # key id → epoch seconds it stops verifying
        if self.current[0] in self.retire_at:
            raise ValueError("the signing key (the first) cannot have a retirement time")

    @classmethod
    def from_spec(cls, spec: str) -> Signer:
        """`DECIDE_SIGNING_KEYS="k2:new,k1:old@2026-12-31"`: the first signs, all verify,
        each until its `@` time (ISO date or date-time, UTC unless it says otherwise)."""
        keys, retire_at = [], {}
        for kid, secret in parse_keys(spec):
            text, at, until = secret.decode().rpartition("@") if b"@" in secret else ("", "", "")
            if at:
                retire_at[kid] = _epoch(until)
                secret = text.encode()
            keys.append((kid, secret))
        return cls(keys, retire_at)

    def sign(self, decision: Decision) -> str:
        # fields() + getattr, not asdict(): asdict deep-copies and costs 4x on the hot path
        payload = {
            short: value
            for name, short in _ORDER
            if (value := getattr(decision, name)) is not None and value != ""
        }
        body = _b64(orjson.dumps(payload))
        kid, secret = self.current
        head = f"v1.{kid}.{body}"
        return f"{head}.{_b64(_mac(secret, head))}"

    def verify(self, token: str, now: float | None = None) -> Decision:
        """The decision inside `token`; `now` enforces the old keys' grace periods."""
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != "v1":
            raise TokenError("malformed_decision_id", "decision_id is not a decide token")
        _, kid, body, mac = parts
        secret = self.keys.get(kid)
        if secret is None:
            raise TokenError("bad_signature", "decision_id is signed with an unknown key")
        head = f"v1.{kid}.{body}"
        try:
            given = _unb64(mac)
        except (binascii.Error, ValueError):
            raise TokenError("bad_signature", "decision_id signature does not verify") from None
        if not hmac.compare_digest(given, _mac(secret, head)):
            raise TokenError("bad_signature", "decision_id signature does not verify")
        retired = self.retire_at.get(kid)
        if retired is not None and now is not None and now >= retired:
            raise TokenError(
                "key_retired", f"decision_id is signed with key {kid!r}, past its grace period"
            )
        try:
            payload: dict[str, Any] = orjson.loads(_unb64(body))
            return Decision(**{_NAMES[k]: v for k, v in payload.items()})
        except (ValueError, TypeError, KeyError):
            raise TokenError("malformed_decision_id", "decision_id payload is unreadable") from None


def parse_keys(spec: str) -> list[tuple[str, bytes]]:
    """`"k2:secret2,k1:secret1"` → [(id, secret)], in order."""
    keys = []
    for item in spec.split(","):
        kid, sep, secret = item.strip().partition(":")
        if not sep or not kid or not secret or not kid.isalnum():
            raise ValueError(
                "DECIDE_SIGNING_KEYS must be 'id:secret[,id:secret…]' (id alphanumeric)"
            )
        keys.append((kid, secret.encode()))
    return keys


def _epoch(text: str) -> float:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"DECIDE_SIGNING_KEYS: {text!r} after '@' is not an ISO date or date-time"
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _mac(secret: bytes, head: str) -> bytes:
    return hmac.new(secret, head.encode(), hashlib.sha256).digest()[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
