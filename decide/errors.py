"""One typed API error, mapped to one JSON envelope."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    field: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}


@dataclass
class ApiError(Exception):
    status: int
    code: str
    message: str
    details: list[Problem] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "details": [p.as_dict() for p in self.details],
            }
        }


def invalid(problems: list[Problem], what: str = "request") -> ApiError:
    """422 naming every bad field at once, so a caller fixes them in one round."""
    fields = ", ".join(p.field for p in problems[:5])
    more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
    return ApiError(422, "invalid_" + what, f"invalid {what}: {fields}{more}", problems)


def not_found(what: str, key: str) -> ApiError:
    return ApiError(404, f"{what}_not_found", f"{what} {key!r} does not exist")


def unavailable(message: str = "the store is unreachable; retry") -> ApiError:
    return ApiError(503, "store_unavailable", message, headers={"Retry-After": "1"})
