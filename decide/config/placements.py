"""A placement's configuration: validated once at PUT, compiled for the hot path."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from decide.config.bandit_policy import BanditPolicy, known_policy_keys, parse_bandit_policy
from decide.config.checks import EVENT_TYPE_PATTERN, EVENT_TYPE_RULE, Checks, join
from decide.config.outreach import Outreach, parse_outreach
from decide.contacts import TEMPLATE_FIELDS
from decide.errors import invalid
from experiments.conditions import context_fields_used, validate_condition
from personalization.templates import (
    CompiledContent,
    ContentError,
    channels_of,
    compile_content,
    contact_fields_used,
)

CHANNELS = ("email", "sms", "push", "web_push", "in_app", "web")
# Content shown inside the caller's own page or app: safe to fall back to a default when the
# store is unreachable. Every other channel messages a person and must fail closed.
WEB_CHANNELS = frozenset({"web", "in_app"})
EXPOSURES = ("event", "on_decide")
EXPOSURE_TYPES = frozenset({"impression", "delivered"})  # the events that expose a decision
POLICIES = ("rule", "experiment", "bandit")
OUTREACH = ("send_time", "quiet_hours", "frequency_caps", "goal", "no_repeat", "trigger")
KNOWN = {
    "description",
    "channels",
    "exposure",
    "context_fields",
    "eligibility",
    "policy",
    "messages",
    "default_message",
    "default_locale",
    "channel",
    "sticky_hours",
    *OUTREACH,
}


@dataclass(frozen=True)
class Reward:
    event: str
    window_s: int
    use_value: bool  # reward = the event's value (revenue) instead of 1


@dataclass(frozen=True)
class Message:
    key: str
    content: CompiledContent
    channels: frozenset[str]


@dataclass(frozen=True)
class Placement:
    key: str
    channels: tuple[str, ...]
    exposure: str
    context_fields: frozenset[str]
    eligibility: Mapping[str, Any] | None
    policy: str
    rule_message: str | None
    experiment: str | None
    bandit: BanditPolicy | None
    sticky_hours: float
    reward: Reward
    messages: Mapping[str, Message]
    default_message: str
    default_locale: str
    outreach: Outreach
    document: Mapping[str, Any]  # the normalised configuration, as GET returns it

    @property
    def max_fallbacks(self) -> int:
        return self.outreach.channel.max_fallbacks

    @cached_property
    def web_only(self) -> bool:
        return all(channel in WEB_CHANNELS for channel in self.channels)


def parse_placement(key: str, doc: Any) -> Placement:
    """Validate a placement document; raise ApiError(422) naming every bad field."""
    c = Checks()
    body = c.mapping(doc, "body")
    if body is None:
        raise invalid(c.problems, "placement")
    c.unknown_fields(body, KNOWN)

    description = c.string(body, "description", "", default=None, max_len=2000) or ""
    channels = c.string_list(body, "channels", "") or []
    for i, channel in enumerate(channels):
        if channel not in CHANNELS:
            c.fail(
                join("channels", i), f"unknown channel {channel!r}; one of {', '.join(CHANNELS)}"
            )
    if body.get("channels") == []:
        c.fail("channels", "must name at least one channel")
    exposure = c.string(body, "exposure", "", default="event", choices=EXPOSURES) or "event"
    context_fields = c.string_list(body, "context_fields", "", default=[]) or []
    default_locale = c.string(body, "default_locale", "", default="en", max_len=35) or "en"

    eligibility = body.get("eligibility")
    if eligibility is not None:
        for problem in validate_condition(eligibility, "eligibility"):
            c.fail(*_split_problem(problem, "eligibility"))
        undeclared = context_fields_used(eligibility) - set(context_fields)
        for name in sorted(undeclared):
            c.fail("eligibility", f"uses context.{name}, which is not declared in context_fields")

    messages, message_keys = _messages(c, body, set(context_fields), default_locale, set(channels))
    policy = _policy(c, body, message_keys)
    reward = policy.reward
    default_message = c.string(body, "default_message", "", default=None, max_len=64)
    if default_message is None and messages:
        default_message = policy.rule_message or next(iter(messages))
    elif default_message is not None and default_message not in message_keys:
        c.fail("default_message", f"names no message of this placement: {default_message!r}")
    outreach = parse_outreach(c, body, tuple(channels))
    if outreach.no_repeat_s is not None and policy.kind == "experiment":
        c.fail("no_repeat", "applies to bandit and rule policies (an experiment's variation "
               "is sticky by design)")  # fmt: skip
    sticky_hours = c.number(body, "sticky_hours", "", default=0, low=0, high=24 * 90) or 0.0
    if sticky_hours and policy.kind != "bandit":
        c.fail("sticky_hours", "applies to bandit policies (experiments are sticky already)")

    if not c.ok():
        raise invalid(c.problems, "placement")
    normalised = {
        **({"description": description} if description else {}),
        "channels": channels,
        "exposure": exposure,
        "context_fields": context_fields,
        **({"eligibility": eligibility} if eligibility is not None else {}),
        "policy": body["policy"]
        | {
            "reward": {
                "event": reward.event,
                "window_hours": reward.window_s / 3600,
                "value": reward.use_value,
            }
        },
        "messages": body["messages"],
        "default_message": default_message,
        "default_locale": default_locale,
        "channel": body.get("channel", {"type": "ordered", "max_fallbacks": 2}),
        **({"sticky_hours": sticky_hours} if sticky_hours else {}),
        **{name: body[name] for name in OUTREACH if name in body},
    }
    return Placement(
        key=key,
        channels=tuple(channels),
        exposure=exposure,
        context_fields=frozenset(context_fields),
        eligibility=eligibility,
        policy=policy.kind,
        rule_message=policy.rule_message,
        experiment=policy.experiment,
        bandit=policy.bandit,
        sticky_hours=sticky_hours,
        reward=reward,
        messages=messages,
        default_message=default_message or "",
        default_locale=default_locale,
        outreach=outreach,
        document=normalised,
    )


def _messages(
    c: Checks,
    body: dict[str, Any],
    context_fields: set[str],
    default_locale: str,
    allowed: set[str],
) -> tuple[dict[str, Message], set[str]]:
    """`allowed` is the validated channel list (empty when it was missing or invalid)."""
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        c.fail("messages", "must be a non-empty list of messages")
        return {}, set()
    messages: dict[str, Message] = {}
    keys: set[str] = set()  # every key named, so one broken message does not hide another's errors
    for i, item in enumerate(raw):
        path = join("messages", i)
        entry = c.mapping(item, path)
        if entry is None:
            continue
        c.unknown_fields(entry, {"key", "content", "default_locale"}, path)
        key = c.key(entry, "key", path)
        if key in keys:
            c.fail(join(path, "key"), f"repeats message key {key!r}")
        if key is not None:
            keys.add(key)
        locale = c.string(entry, "default_locale", path, default=default_locale, max_len=35)
        content = entry.get("content")
        if not isinstance(content, dict) or not content:
            c.fail(join(path, "content"), "must be an object of channel -> fields")
            continue
        try:
            compiled = compile_content(
                content,
                path=join(path, "content"),
                context_fields=context_fields,
                default_locale=locale or default_locale,
            )
        except ContentError as error:
            for where, reason in error.problems:
                c.fail(where, reason)
            continue
        for name in sorted(contact_fields_used(compiled) - TEMPLATE_FIELDS):
            c.fail(
                join(path, "content"),
                f"reads contact.{name}, which is not a contact attribute (strict mode: "
                f"known ones are {', '.join(sorted(TEMPLATE_FIELDS))}; yours go under "
                "contact.custom)",
            )
        for channel in channels_of(compiled):
            if allowed and channel not in allowed:
                c.fail(
                    join(join(path, "content"), channel), "is not one of the placement's channels"
                )
        if key is not None:
            messages[key] = Message(key, compiled, channels_of(compiled))
    return messages, keys


@dataclass(frozen=True)
class PolicySpec:
    kind: str  # rule | experiment | bandit
    rule_message: str | None = None
    experiment: str | None = None
    bandit: BanditPolicy | None = None
    reward: Reward = Reward("click", 72 * 3600, False)


def _policy(c: Checks, body: dict[str, Any], message_keys: set[str]) -> PolicySpec:
    policy = c.mapping(body.get("policy"), "policy")
    if policy is None:
        return PolicySpec("rule")
    kind = c.string(policy, "type", "policy", choices=POLICIES) or "rule"
    own = {"rule": {"message"}, "experiment": {"experiment"}, "bandit": known_policy_keys()}
    c.unknown_fields(policy, {"type", "reward", *own.get(kind, set())}, "policy")
    reward = _reward(c, policy)
    if kind == "experiment":
        return PolicySpec(kind, experiment=c.key(policy, "experiment", "policy"), reward=reward)
    if kind == "bandit":
        return PolicySpec(kind, bandit=parse_bandit_policy(c, policy, message_keys), reward=reward)
    rule_message = c.key(policy, "message", "policy")
    if rule_message is not None and rule_message not in message_keys:
        c.fail("policy.message", f"names no message of this placement: {rule_message!r}")
    return PolicySpec("rule", rule_message=rule_message, reward=reward)


def _reward(c: Checks, policy: dict[str, Any]) -> Reward:
    spec = c.mapping(policy.get("reward", {}), "policy.reward")
    if spec is None:
        return Reward("click", 72 * 3600, False)
    path = "policy.reward"
    c.unknown_fields(spec, {"event", "window_hours", "value"}, path)
    event = c.string(spec, "event", path, default="click", max_len=64,
                     pattern=EVENT_TYPE_PATTERN, rule=EVENT_TYPE_RULE)  # fmt: skip
    if event in EXPOSURE_TYPES:
        c.fail(join(path, "event"), f"{event!r} is the exposure, counted as the trial; "
               "a reward is what follows it, like 'click' or 'purchase'")  # fmt: skip
    hours = c.number(spec, "window_hours", path, default=72, low=0.001, high=24 * 90)
    use_value = c.boolean(spec, "value", path, default=False)
    return Reward(event or "click", round((hours or 72) * 3600), use_value)


def _split_problem(problem: str, default_path: str) -> tuple[str, str]:
    """validate_condition reports 'path: reason'; keep the path as the field."""
    path, sep, reason = problem.partition(": ")
    return (path, reason) if sep else (default_path, problem)
