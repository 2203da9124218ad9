"""API keys with scopes: who may decide, send events, read, or change configuration."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from starlette.requests import Request

from decide.errors import ApiError

SCOPES = ("decide", "events", "read", "admin")


@dataclass(frozen=True)
class ApiKeys:
    """Keys are held by their SHA-256, so a lookup compares digests, not secrets."""

    by_digest: dict[bytes, frozenset[str]] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return bool(self.by_digest)

    def require(self, request: Request, scope: str) -> None:
        if not self.enabled:
            return  # no keys: the server only listens on 127.0.0.1 (enforced by `decide serve`)
        presented = _presented_key(request)
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
        if scope not in scopes and "admin" not in scopes:
            raise ApiError(403, "forbidden", f"this API key lacks the {scope!r} scope")

    def who(self, request: Request) -> str:
        """The caller as audit records name it: a prefix of its key's digest, never the key."""
        presented = _presented_key(request)
        if not self.enabled or presented is None:
            return "local"  # no keys: only someone on this machine can call
        return "key:" + hashlib.sha256(presented.encode()).hexdigest()[:12]


def parse_api_keys(spec: str) -> ApiKeys:
    """`"secret1:admin;secret2:decide,events"` (newlines work as separators too)."""
    by_digest: dict[bytes, frozenset[str]] = {}
    for item in spec.replace("\n", ";").split(";"):
        item = item.strip()
        if not item or item.startswith("#"):
            continue
        secret, sep, scope_list = item.rpartition(":")
        scopes = frozenset(s.strip() for s in scope_list.split(",") if s.strip())
        unknown = scopes - set(SCOPES)
        if not sep or not secret or not scopes or unknown:
            raise SystemExit(
                "DECIDE_API_KEYS must be 'key:scope[,scope…];…' with scopes from "
                f"{', '.join(SCOPES)}"
                + (f"; unknown: {', '.join(sorted(unknown))}" if unknown else "")
            )
        by_digest[hashlib.sha256(secret.encode()).digest()] = scopes
    return ApiKeys(by_digest)


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.headers.get("x-api-key") or None
