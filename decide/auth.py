"""API keys with scopes: who may decide, send events, read, or change configuration."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from starlette.requests import Request

from decide.errors import ApiError
from decide.key_limits import RateLimit, parse_rate

SCOPES = ("decide", "events", "read", "admin", "public")
# A public key is meant to sit in a web page: it may decide (web placements only) and send
# events, and stored profiles are used for it only with a contact_token (DESIGN.md).
PUBLIC_SCOPES = frozenset({"decide", "events"})


@dataclass(frozen=True)
class Caller:
    public: bool = False  # a browser key: web placements only, profiles need a contact_token


@dataclass(frozen=True)
class ApiKeys:
    """Keys are held by their SHA-256, so a lookup compares digests, not secrets."""

    by_digest: dict[bytes, frozenset[str]] = field(default_factory=dict)
    limits: dict[bytes, RateLimit] = field(default_factory=dict)  # only keys that have one

    @property
    def enabled(self) -> bool:
        return bool(self.by_digest)

    public_origins: frozenset[str] = frozenset()  # empty: any origin may use a public key

    def require(self, request: Request, scope: str, body_key: object = None) -> Caller:
        """The caller, if its key has `scope`; a public key may come in the body, because
        navigator.sendBeacon cannot set headers."""
        if not self.enabled:
            return Caller()  # no keys: the server only listens on 127.0.0.1 (`decide serve`)
        presented = presented_key(request) or (body_key if isinstance(body_key, str) else None)
        if presented is None:
            raise ApiError(
                401,
                "unauthorized",
                "an API key is required: 'Authorization: Bearer <key>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        scopes = self.by_digest.get(hashlib.sha256(presented.encode()).digest())
        if scopes is None:
            raise ApiError(
                401, "unauthorized", "unknown API key", headers={"WWW-Authenticate": "Bearer"}
            )
        if "public" in scopes and scope in PUBLIC_SCOPES and not scopes & {scope, "admin"}:
            origin = request.headers.get("origin")
            if self.public_origins and origin is not None and origin not in self.public_origins:
                raise ApiError(403, "forbidden", f"this public key is not bound to {origin}")
            return Caller(public=True)
        if scope not in scopes and "admin" not in scopes:
            raise ApiError(403, "forbidden", f"this API key lacks the {scope!r} scope")
        return Caller()

    def who(self, request: Request) -> str:
        """The caller as audit records name it: a prefix of its key's digest, never the key."""
        presented = presented_key(request)
        if not self.enabled or presented is None:
            return "anonymous"  # no keys: only someone on this machine can call
        return "key:" + key_id(hashlib.sha256(presented.encode()).digest())

    def limit_of(self, presented: str) -> tuple[str, RateLimit] | None:
        """(bucket id, limit) of a key that has a rate limit; None costs a dict lookup."""
        if not self.limits:
            return None
        digest = hashlib.sha256(presented.encode()).digest()
        limit = self.limits.get(digest)
        return (key_id(digest), limit) if limit is not None else None


def key_id(digest: bytes) -> str:
    """How logs, audit entries and rate-limit buckets name a key: its digest's prefix."""
    return digest.hex()[:12]


def contact_token(secret: bytes, contact_id: str) -> str:
    """What the customer's backend gives a page so its public key may use the stored profile:
    hex HMAC-SHA256 of the contact id under DECIDE_CONTACT_TOKEN_SECRET."""
    return hmac.new(secret, contact_id.encode(), hashlib.sha256).hexdigest()


def contact_token_valid(secret: bytes | None, contact_id: str, token: object) -> bool:
    if secret is None or not isinstance(token, str):
        return False
    # As bytes: compare_digest raises on a str with non-ASCII characters (a 500 for any page).
    expected = contact_token(secret, contact_id).encode()
    return hmac.compare_digest(token.encode(), expected)


def parse_api_keys(spec: str, public_origins: str = "") -> ApiKeys:
    """`"secret1:admin;secret2:decide,events@200/s"` (newlines work as separators too);
    `@N/s` or `@N/min` after the scopes limits that key's requests (a token bucket)."""
    by_digest: dict[bytes, frozenset[str]] = {}
    limits: dict[bytes, RateLimit] = {}
    for item in spec.replace("\n", ";").split(";"):
        item = item.strip()
        if not item or item.startswith("#"):
            continue
        secret, sep, scope_list = item.rpartition(":")
        scope_list, _, rate = scope_list.partition("@")
        scopes = frozenset(s.strip() for s in scope_list.split(",") if s.strip())
        unknown = scopes - set(SCOPES)
        if not sep or not secret or not scopes or unknown:
            raise SystemExit(
                "DECIDE_API_KEYS must be 'key:scope[,scope…];…' with scopes from "
                f"{', '.join(SCOPES)}"
                + (f"; unknown: {', '.join(sorted(unknown))}" if unknown else "")
            )
        digest = hashlib.sha256(secret.encode()).digest()
        by_digest[digest] = scopes
        if rate:
            limit = parse_rate(rate.strip())
            if limit is None:
                raise SystemExit(
                    f"DECIDE_API_KEYS: rate limit {rate!r} must be like '200/s' or '600/min'"
                )
            limits[digest] = limit
    origins = frozenset(o.strip().rstrip("/") for o in public_origins.split(",") if o.strip())
    return ApiKeys(by_digest, limits, origins)


def presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.headers.get("x-api-key") or None
