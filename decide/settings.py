"""Service settings, read once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from decide.auth import ApiKeys, parse_api_keys

MiB = 1024 * 1024


@dataclass(frozen=True)
class Durability:
    """What an event batch waits for before it is acknowledged: the Redis command run on the
    batch's connection after its writes, and the counts its answer must reach."""

    command: tuple[str, ...]  # ("WAITAOF", local, replicas, timeout_ms) or ("WAIT", replicas, ms)
    needed: tuple[int, ...]  # WAITAOF answers [local, replicas]; WAIT answers replicas

    def satisfied(self, answer: object) -> bool:
        got = answer if isinstance(answer, list) else [answer]
        return len(got) == len(self.needed) and all(
            isinstance(n, int) and n >= want for n, want in zip(got, self.needed, strict=True)
        )


def _durability(env: Mapping[str, str]) -> Durability | None:
    """DECIDE_EVENTS_WAITAOF="local,replicas,timeout_ms" (Redis ≥ 7.2, Valkey) or
    DECIDE_EVENTS_WAIT="replicas,timeout_ms" (any Redis): unset, an event is acknowledged once
    applied, and its durability is the server's appendfsync and replication."""
    for name, size in (("DECIDE_EVENTS_WAITAOF", 3), ("DECIDE_EVENTS_WAIT", 2)):
        raw = env.get(name, "").strip()
        if not raw:
            continue
        parts = [p.strip() for p in raw.split(",")]
        if len(parts) != size or not all(p.isdigit() for p in parts):
            shape = "local,replicas,timeout_ms" if size == 3 else "replicas,timeout_ms"
            raise SystemExit(f"{name} must be {shape} (whole numbers), got {raw!r}")
        numbers = tuple(int(p) for p in parts)
        if numbers[-1] == 0:
            raise SystemExit(f"{name}: a timeout of 0 would wait forever; give milliseconds")
        command = (name.removeprefix("DECIDE_EVENTS_"), *parts)
        return Durability(command, numbers[:-1])
    return None


@dataclass(frozen=True)
class Settings:
    redis_url: str | None = None  # None: run the embedded server
    data_dir: Path = Path(".decide")
    api_keys: ApiKeys = field(default_factory=ApiKeys)
    signing_keys: str | None = None  # "id:secret,…"; None: a key generated once, kept in Redis
    dedup_window_s: int = 24 * 3600
    future_skew_s: int = 300
    decision_grace_s: int = 24 * 3600
    body_limit: int = 1 * MiB
    batch_body_limit: int = 16 * MiB
    events_body_limit: int = 5 * MiB
    max_events: int = 10_000
    event_log_max: int = 1_000_000  # events kept for export; 0 = none
    decision_log_max: int = 100_000  # per placement, for off-policy evaluation; 0 = no log
    redis_timeout_s: float = 0.05  # a single decision's reads; slower: served degraded
    redis_op_timeout_s: float = 2.0  # every other store call: events, batches, config, results
    events_durability: Durability | None = None  # WAIT/WAITAOF before an event is acknowledged
    config_refresh_s: float = 0.5
    winner_tick_s: float = 30.0  # how often auto-winner experiments are looked at
    seed: int | None = None  # the decision RNG's seed (reproducible bandit draws); None: OS entropy
    machine_open_s: float = 10.0  # an open this soon after delivery was a mail client's prefetch
    cap_grace_s: int = 6 * 3600  # a reservation not confirmed by `delivered` by send_at + this ends
    max_batch: int = 10_000  # contacts per POST /v1/decide/batch
    batch_replay_s: int = 24 * 3600  # how long a batch's request_id returns the same decisions
    attribution_window_s: int = 7 * 86_400  # a conversion credits exposures this far back
    priors_refresh_s: float = 10.0  # population priors for channels and send times
    contact_token_secret: bytes | None = None  # HMAC key of contact_tokens (public keys)
    log_format: str = "json"  # json: one JSON object per line; text: for a terminal
    access_log: bool = True  # one line per request (~6 µs each, written once per loop pass)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        def number(name: str, default: float) -> float:
            raw = env.get(name)
            if raw is None or raw == "":
                return default
            try:
                return float(raw)
            except ValueError:
                raise SystemExit(f"{name} must be a number, got {raw!r}") from None

        log_format = env.get("DECIDE_LOG_FORMAT") or "json"
        if log_format not in ("json", "text"):
            raise SystemExit(f"DECIDE_LOG_FORMAT must be json or text, got {log_format!r}")
        keys_file = env.get("DECIDE_API_KEYS_FILE")
        keys_spec = Path(keys_file).read_text() if keys_file else env.get("DECIDE_API_KEYS", "")
        return cls(
            redis_url=env.get("REDIS_URL") or None,
            data_dir=Path(env.get("DECIDE_DATA_DIR") or ".decide"),
            api_keys=parse_api_keys(keys_spec, env.get("DECIDE_PUBLIC_ORIGINS", "")),
            signing_keys=env.get("DECIDE_SIGNING_KEYS") or None,
            dedup_window_s=int(number("DECIDE_DEDUP_WINDOW_HOURS", 24) * 3600),
            future_skew_s=int(number("DECIDE_FUTURE_SKEW_SECONDS", 300)),
            decision_grace_s=int(number("DECIDE_DECISION_GRACE_HOURS", 24) * 3600),
            body_limit=int(number("DECIDE_BODY_LIMIT", 1 * MiB)),
            batch_body_limit=int(number("DECIDE_BATCH_BODY_LIMIT", 16 * MiB)),
            events_body_limit=int(number("DECIDE_EVENTS_BODY_LIMIT", 5 * MiB)),
            max_events=int(number("DECIDE_MAX_EVENTS", 10_000)),
            event_log_max=int(number("DECIDE_EVENT_LOG_MAX", 1_000_000)),
            decision_log_max=int(number("DECIDE_DECISION_LOG_MAX", 100_000)),
            redis_timeout_s=number("DECIDE_REDIS_TIMEOUT_MS", 50) / 1000,
            redis_op_timeout_s=number("DECIDE_REDIS_OP_TIMEOUT_MS", 2000) / 1000,
            events_durability=_durability(env),
            config_refresh_s=number("DECIDE_CONFIG_REFRESH_MS", 500) / 1000,
            winner_tick_s=number("DECIDE_WINNER_TICK_SECONDS", 30),
            seed=int(env["DECIDE_SEED"]) if env.get("DECIDE_SEED") else None,
            machine_open_s=number("DECIDE_MACHINE_OPEN_SECONDS", 10),
            cap_grace_s=int(number("DECIDE_CAP_GRACE_HOURS", 6) * 3600),
            max_batch=int(number("DECIDE_MAX_BATCH", 10_000)),
            batch_replay_s=int(number("DECIDE_BATCH_REPLAY_HOURS", 24) * 3600),
            attribution_window_s=int(number("DECIDE_ATTRIBUTION_WINDOW_DAYS", 7) * 86_400),
            priors_refresh_s=number("DECIDE_PRIORS_REFRESH_SECONDS", 10),
            contact_token_secret=(env.get("DECIDE_CONTACT_TOKEN_SECRET") or "").encode() or None,
            log_format=log_format,
            access_log=(env.get("DECIDE_ACCESS_LOG") or "on").lower() not in ("off", "0", "false"),
        )
