"""Every Redis key decide uses, built in one place.

Keys that one Lua script touches together share a hash tag (`{...}`), so the same scripts
run on Redis Cluster. The groups:

- `{cfg}`        configuration: placements, experiments, the version counter, signing key.
- `{c:<id>}`     one contact: profile, behaviour state (one hash), event seen-markers.
- `{p:<key>}`    one placement: per-arm sufficient statistics and per-decision state.
- `{e:<key>}`    one experiment: sticky assignments and exposures, per phase.
- `{pop}`        population priors for channel and send-time learning.
- `{b:<id>}`     one batch request's decisions, so a retry returns the same ones.
- `{rl:<id>}`    one API key's rate-limit token bucket.

Ids that come from callers (contact ids, event ids, segment values) are escaped so that no
id can forge another key or break out of its hash tag.
"""

from __future__ import annotations

_ESCAPES = str.maketrans({"%": "%25", "{": "%7B", "}": "%7D", ":": "%3A"})
_UNSAFE = frozenset("%{}:")


def escape(value: str) -> str:
    if _UNSAFE.isdisjoint(value):
        return value
    return value.translate(_ESCAPES)


def glob_escape(text: str) -> str:
    """For SCAN MATCH: the hash tag's braces are literal, but *?[]\\ are not."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


def unescape(value: str) -> str:
    if "%" not in value:
        return value
    for plain, escaped in (("{", "%7B"), ("}", "%7D"), (":", "%3A"), ("%", "%25")):
        value = value.replace(escaped, plain)
    return value


# --- configuration -------------------------------------------------------------------------

CONFIG_VERSION = "{cfg}:version"
PLACEMENTS = "{cfg}:placements"  # hash: placement key -> JSON document
EXPERIMENTS = "{cfg}:experiments"  # hash: experiment key -> JSON document
HOLDOUTS = "{cfg}:holdouts"  # hash: holdout key -> JSON document
SEGMENTS = "{cfg}:segments"  # hash: segment key -> JSON document
WORKSPACE = "{cfg}:workspace"  # hash: "default" -> JSON document (scoring, caps, quiet hours)
SIGNING_KEY = "{cfg}:signing_key"  # generated once when DECIDE_SIGNING_KEYS is not set
# Every accepted or duplicate event, capped, for the NDJSON export (consumers dedup on event_id:
# it is written with the batch, before Redis says which events were new).
EVENT_LOG = "{log}:events"
# Admin actions: who, what, when, config version before/after — never a contact's id. In the
# config slot, so put_config.lua/delete_config.lua append the entry atomically with the change.
AUDIT_LOG = "{cfg}:audit"
AUDIT_LOG_MAX = 100_000  # entries kept (approximately)


# --- contacts ------------------------------------------------------------------------------


def contact_tag(contact_id: str) -> str:
    return "{c:" + escape(contact_id) + "}"


def event_seen(contact_id: str, event_id: str) -> str:
    """Seen-marker of one event; lives for the dedup window."""
    return f"{contact_tag(contact_id)}:seen:{escape(event_id)}"


def contact_state(contact_id: str) -> str:
    """Hash of everything decide learns about a contact's behaviour, in one key (one key's
    overhead and one listpack header instead of six; ~480 bytes for a typical contact).
    Fields, every value <= 64 bytes so Redis keeps it a compact listpack (longer parts are cut
    into 64-byte chunks `<part>0`, `<part>1`…; the byte layout is contact_codec.py's):
    `t…` count and latest time per event type, `c…` deliveries and engagements per channel,
    `h…` the send-time histogram (sparse), `q…` one entry per recent send or exposure (caps,
    reservations, engagement counted once, machine opens, attribution touches), `m…` the
    `placement|message` names touches refer to, `f` first seen, `k` cart, `v` recent views,
    `s`/`a`/`g` score, its time, stage, `r:<CUR>` revenue, `x:<channel>` suppressed since.
    No TTL: the scripts prune entries as they write (see _contact_lib.lua)."""
    return contact_tag(contact_id) + ":b"


def profile(contact_id: str) -> str:
    """Hash attribute -> JSON value; `consent.<channel>` and `custom.<name>` flattened."""
    return contact_tag(contact_id) + ":profile"


def shown(contact_id: str) -> str:
    """Hash placement -> `<message>,<message>…`: content already decided for this contact."""
    return contact_tag(contact_id) + ":shown"


# The keys an older version kept a contact's behaviour state in, before contact_state folded
# them into one hash: read only by `decide migrate` (decide/store/migrate_contacts.py).
LEGACY_PARTS = ("beh", "slots", "sends", "pending", "sd", "touches")


def legacy_part(contact_id: str, part: str) -> str:
    """`beh` hash, `slots` 168-byte string, `sends` zset, `pending` and `sd` hashes,
    `touches` list (see migrate_contacts.py for their formats)."""
    return f"{contact_tag(contact_id)}:{part}"


def merged_from(contact_id: str, other: str) -> str:
    """Marker that `other` was folded into this contact, so a retried merge adds nothing."""
    return f"{contact_tag(contact_id)}:merged:{escape(other)}"


def contact_keys_pattern(contact_id: str) -> str:
    """SCAN MATCH pattern for every key of one contact (erasure)."""
    return glob_escape(contact_tag(contact_id)) + "*"


# Population priors for channel and send-time learning (one small hash each).
POPULATION_SLOTS = "{pop}:slots"  # `s<slot>` sends, `e<slot>` engaged
POPULATION_CHANNELS = "{pop}:channels"  # `<channel>:d`, `<channel>:e`


def segment_slots(language: str) -> str:
    """The send-time histogram of the contacts who speak one language: the segment level
    between a contact and the population (weekends and habits differ by culture)."""
    return f"{POPULATION_SLOTS}:{escape(language)}"


# The languages that have a segment_slots histogram: read every few seconds by each worker,
# so it is a set by name, never a SCAN of the keyspace.
SLOT_LANGUAGES = "{pop}:slot_languages"


# --- placements ----------------------------------------------------------------------------


def placement_tag(placement: str) -> str:
    return "{p:" + placement + "}"  # placement keys are validated to [A-Za-z0-9_.-]


def arm_stats(placement: str, segment: str = "") -> str:
    """Hash of per-arm sufficient statistics: `<arm>:n`, `<arm>:sum`, `<arm>:sum_sq`,
    plus `<arm>:decided` (decisions served, exposed or not)."""
    return f"{placement_tag(placement)}:arms:{escape(segment)}"


def arm_stats_daily(placement: str, segment: str, day: int) -> str:
    """The same statistics for decisions issued on one UTC day (epoch day number): read back
    with a discount per day, or over a sliding window, by placements that forget."""
    return f"{placement_tag(placement)}:arms:{escape(segment)}:day{day}"


def arm_stats_registry(placement: str) -> str:
    """Set of the placement's arm-statistics key names (segments, days): read to list them
    instead of a SCAN, which walks every key of the store. Outside the `:arms:` prefix."""
    return f"{placement_tag(placement)}:counters"


def parse_arm_stats(placement: str, name: str) -> tuple[str, int | None]:
    """(segment, epoch day or None) of a key made by arm_stats / arm_stats_daily. Segment
    values are escaped, so the first ':' after the prefix starts the daily suffix."""
    rest = name[len(arm_stats(placement, "")) :]
    segment, daily, day = rest.partition(":day")
    return unescape(segment), (int(day) if daily else None)


def attribution(placement: str) -> str:
    """Hash `<model>|<message>|<channel>|conversions` and `…|revenue:<CUR>` -> credited sum."""
    return placement_tag(placement) + ":attribution"


def decision_log(placement: str) -> str:
    """Stream of decisions (capped): nonce, contact, arm, propensity, segment, config version."""
    return placement_tag(placement) + ":log:decisions"


def outcome_log(placement: str) -> str:
    """Stream of exposures and rewards by decision nonce, joined to the decision log for
    off-policy evaluation."""
    return placement_tag(placement) + ":log:outcomes"


def bandit_sticky(contact_id: str) -> str:
    """Hash placement -> "arm|propensity|expires": content that should not change per view."""
    return contact_tag(contact_id) + ":sticky"


def decision_state(placement: str, nonce: str) -> str:
    """Hash `x` (exposed at), `r` (rewarded), `rt` and `rv` (the reward's time and value) of
    one decision; lives until its token expires."""
    return f"{placement_tag(placement)}:d:{nonce}"


# --- experiments ---------------------------------------------------------------------------


def experiment_tag(experiment: str) -> str:
    return "{e:" + experiment + "}"  # experiment keys are validated to [A-Za-z0-9_.-]


def experiment_assignments(experiment: str, phase: int) -> str:
    """Hash contact id -> "variation|exposed at": stickiness, and who was exposed, per phase."""
    return f"{experiment_tag(experiment)}:p{phase}:assigned"


def experiment_totals(experiment: str, phase: int) -> str:
    """Hash of per-variation sufficient statistics: `<var>:users`, and per metric
    `<var>:<metric>:sum|sum_sq|pre_sum|pre_sum_sq|sum_products` (per-user values summed)."""
    return f"{experiment_tag(experiment)}:p{phase}:totals"


def experiment_daily(experiment: str, phase: int, day: int) -> str:
    """The same fields as experiment_totals, as increments on one UTC day: summed up to a
    day, they give the exact cumulative statistics at its end (for charts over time)."""
    return f"{experiment_tag(experiment)}:p{phase}:day{day}"


def experiment_user_values(experiment: str, phase: int, metric: str) -> str:
    """Hash contact id -> this contact's metric value (converted, count or revenue)."""
    return f"{experiment_tag(experiment)}:p{phase}:m:{metric}"


def experiment_covariates(experiment: str, phase: int, metric: str) -> str:
    """Hash contact id -> pre-exposure value of the metric (CUPED), when not zero."""
    return f"{experiment_tag(experiment)}:p{phase}:pre:{metric}"


def experiment_seen(experiment: str, event_id: str) -> str:
    return f"{experiment_tag(experiment)}:seen:{escape(event_id)}"


def experiment_log(experiment: str) -> str:
    """Stream of automatic actions (winner roll-outs) with the numbers that triggered them."""
    return experiment_tag(experiment) + ":log"


# --- batch decisions -----------------------------------------------------------------------


def batch_replay(request_id: str) -> str:
    """Hash `digest` -> body digest, `<index>` -> that contact's decision (JSON)."""
    return "{b:" + escape(request_id) + "}"


# --- rate limits ---------------------------------------------------------------------------


def rate_bucket(key_id: str) -> str:
    """Token bucket of one API key, named by its digest prefix (never the key itself)."""
    return "{rl:" + escape(key_id) + "}:bucket"
