"""A real request and response for every route, shown on /docs and in /openapi.json.

Captured from `decide serve --demo` and run again by tests/e2e/test_openapi_examples.py in
this order (a later example may use what an earlier one created; deletes come last). Some
responses are shortened inside (a subset of a list or of a large object); their top-level
fields are as served. The events example's decision_id is the decide example's answer: in
a real call it is the token your own decide call returned.
"""

# ruff: noqa: E501, RUF001 (captured data: long tokens, Persian and Russian text)

from __future__ import annotations

from typing import Any

# The decide example's answer; the events example reports on it (see above).
_DECIDE_EXAMPLE_ID = "v1.s1.eyJwIjoiaG9tZXBhZ2VfaGVybyIsImMiOiJjLTE4NDIiLCJtIjoid2VsY29tZSIsImNoIjoid2ViIiwic2EiOjE3OTU2NDEyNTAsInByIjowLjM0LCJwdiI6MywiaWEiOjE3OTU2NDEyNTAsImV4IjoxNzk1ODE0MDUwLCJuIjoiRmpOOGhybzNKM2dkIiwicmUiOiJjbGljayIsInJ3Ijo4NjQwMCwicnYiOmZhbHNlLCJvZCI6ZmFsc2UsImUiOiJoZXJvX2NvcHkiLCJ2IjoiY29udHJvbCIsInBoIjoxLCJkeSI6ZmFsc2UsInNsIjo3MiwibGciOiJmYSJ9.64_KSv7TxUlWx03mR7FtLw"


def _batch_decision(
    index: int, contact_id: str, decision_id: str, headline: str, locale: str, direction: str
) -> dict[str, Any]:
    """One decision of the batch example: both contacts drew the discount variation."""
    return {
        "index": index,
        "decision_id": decision_id,
        "placement": "homepage_hero",
        "contact_id": contact_id,
        "message": {
            "key": "discount",
            "content": {
                "web": {
                    "headline": headline,
                    "html": '<a href="https://shop.example/sale">10%</a>',
                }
            },
            "locale": locale,
            "direction": direction,
        },
        "reason": None,
        "channel": {"primary": "web", "fallbacks": []},
        "send_at": {
            "utc": "2026-11-25T21:14:10Z",
            "local": "2026-11-25T21:14:10+00:00",
            "timezone": "UTC",
        },
        "assignment": {
            "source": "experiment",
            "propensity": 0.33,
            "experiment": "hero_copy",
            "variation": "discount",
            "phase": 1,
        },
        "degraded": False,
        "reasons": [
            "experiment hero_copy phase 1: assigned discount",
            "channel: web is the placement's first usable",
            "send_at: now",
        ],
    }


# The demo's A/B/C experiment, as GET /v1/experiments lists it and GET …/{key} answers.
_HERO_COPY: dict[str, Any] = {
    "key": "hero_copy",
    "version": 3,
    "placement": "homepage_hero",
    "status": "running",
    "coverage": 1.0,
    "metrics": {"primary": {"event": "click", "type": "binomial", "window_hours": 24}},
    "phase": 1,
    "seed": "hero_copy",
    "hash_version": 2,
    "variations": [
        {"key": "control", "message": "welcome", "weight": 0.34},
        {"key": "discount", "message": "discount", "weight": 0.33},
        {"key": "shipping", "message": "free_shipping", "weight": 0.33},
    ],
}

# An experiment's results, as GET …/results and POST …/check answer them.
_RESULTS: dict[str, Any] = {
    "experiment": "hero_copy",
    "placement": "homepage_hero",
    "status": "running",
    "phase": 1,
    "rollout_variation": None,
    "metrics": [
        {
            "name": "click",
            "event": "click",
            "type": "binomial",
            "role": "primary",
            "window_hours": 24.0,
            "currency": None,
        }
    ],
    "users": {"control": 1, "discount": 2, "shipping": 0},
    "analysis": {
        "control": "control",
        "variations": ["control", "discount", "shipping"],
        "srm": {
            "variations": ["control", "discount", "shipping"],
            "users": [1, 2, 0],
            "expected": [1.02, 0.99, 0.99],
            "chi_square": 2.020796197266786,
            "dof": 2,
            "p_value": 0.36407401335084194,
            "threshold": 0.001,
            "mismatch": False,
        },
    },
    "winner": {
        "state": "collecting",
        "winner": None,
        "reason": "no variation has beaten control yet",
        "evidence": [
            {
                "check": "srm",
                "statistic": "p_value",
                "value": 0.36407401335084194,
                "threshold": 0.001,
                "passed": True,
                "variation": None,
                "metric": None,
            },
            {
                "check": "min_users",
                "statistic": "users",
                "value": 1.0,
                "threshold": 0.0,
                "passed": True,
                "variation": "control",
                "metric": None,
            },
            {
                "check": "min_users",
                "statistic": "users",
                "value": 2.0,
                "threshold": 0.0,
                "passed": True,
                "variation": "discount",
                "metric": None,
            },
            {
                "check": "min_users",
                "statistic": "users",
                "value": 0.0,
                "threshold": 0.0,
                "passed": True,
                "variation": "shipping",
                "metric": None,
            },
            {
                "check": "primary",
                "statistic": "sequential_p_value_holm",
                "value": 1.0,
                "threshold": 0.05,
                "passed": False,
                "variation": "discount",
                "metric": "click",
            },
            {
                "check": "primary",
                "statistic": "sequential_p_value_holm",
                "value": 1.0,
                "threshold": 0.05,
                "passed": False,
                "variation": "shipping",
                "metric": "click",
            },
        ],
    },
}

EXAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/healthz"): {"url": "/healthz", "status": 200, "response": {"status": "ok"}},
    ("GET", "/readyz"): {
        "url": "/readyz",
        "status": 200,
        "response": {
            "status": "ready",
            "checks": {"store": True, "config_loaded": True},
            "config_version": 3,
            "config_fresh": True,
            "snapshot_age_s": 0.214,
            "last_refresh_error": None,
        },
    },
    ("GET", "/openapi.json"): {
        "url": "/openapi.json",
        "status": 200,
        "response": {
            "openapi": "3.1.0",
            "info": {
                "title": "decide",
                "version": "1",
                "description": "Which message, on which channel, at what time.",
            },
            "paths": {
                "/healthz": {
                    "get": {
                        "summary": "The process is alive",
                        "responses": {"200": {"description": "OK"}},
                    }
                }
            },
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        },
    },
    ("POST", "/v1/decide"): {
        "url": "/v1/decide",
        "request": {
            "contact_id": "c-1842",
            "placement": "homepage_hero",
            "attributes": {"first_name": "Maryam", "locale": "fa-IR", "timezone": "Asia/Tehran"},
        },
        "status": 200,
        "response": {
            "decision_id": _DECIDE_EXAMPLE_ID,
            "placement": "homepage_hero",
            "contact_id": "c-1842",
            "message": {
                "key": "welcome",
                "content": {
                    "web": {
                        "headline": "\u2068Maryam\u2069، خوش آمدید",
                        "html": '<a href="https://shop.example/new">Maryam arrivals</a>',
                    }
                },
                "locale": "fa",
                "direction": "rtl",
            },
            "reason": None,
            "channel": {"primary": "web", "fallbacks": []},
            "send_at": {
                "utc": "2026-11-25T21:14:10Z",
                "local": "2026-11-26T00:44:10+03:30",
                "timezone": "Asia/Tehran",
            },
            "assignment": {
                "source": "experiment",
                "propensity": 0.34,
                "experiment": "hero_copy",
                "variation": "control",
                "phase": 1,
            },
            "degraded": False,
            "reasons": [
                "experiment hero_copy phase 1: assigned control",
                "channel: web is the placement's first usable",
                "send_at: now",
            ],
        },
    },
    ("POST", "/v1/events"): {
        "url": "/v1/events",
        "request": {
            "events": [
                {
                    "event_id": "e-1",
                    "type": "impression",
                    "contact_id": "c-1842",
                    "decision_id": _DECIDE_EXAMPLE_ID,
                },
                {
                    "event_id": "e-2",
                    "type": "click",
                    "contact_id": "c-1842",
                    "decision_id": _DECIDE_EXAMPLE_ID,
                },
            ]
        },
        "status": 200,
        "response": {"accepted": 2, "duplicate": 0, "rejected": []},
    },
    ("POST", "/v1/decide/batch"): {
        "url": "/v1/decide/batch",
        "request": {
            "placement": "homepage_hero",
            "request_id": "nightly-2026-11-25",
            "contacts": [
                {"contact_id": "c-1", "attributes": {"locale": "en-US"}},
                {"contact_id": "c-2", "attributes": {"locale": "he-IL"}},
            ],
        },
        "status": 200,
        "response": {
            "placement": "homepage_hero",
            "count": 2,
            "decisions": [
                _batch_decision(
                    0,
                    "c-1",
                    "v1.s1.eyJwIjoiaG9tZXBhZ2VfaGVybyIsImMiOiJjLTEiLCJtIjoiZGlzY291bnQiLCJjaCI6IndlYiIsInNhIjoxNzk1NjQxMjUwLCJwciI6MC4zMywicHYiOjMsImlhIjoxNzk1NjQxMjUwLCJleCI6MTc5NTgxNDA1MCwibiI6Ik5KZXYtWWVSaVFQNCIsInJlIjoiY2xpY2siLCJydyI6ODY0MDAsInJ2IjpmYWxzZSwib2QiOmZhbHNlLCJlIjoiaGVyb19jb3B5IiwidiI6ImRpc2NvdW50IiwicGgiOjEsImR5IjpmYWxzZSwic2wiOjY5LCJsZyI6ImVuIn0.fLGaU1zDuBNMA5SwNlomDA",
                    "Friend, 10% off today only",
                    "en",
                    "ltr",
                ),
                _batch_decision(
                    1,
                    "c-2",
                    "v1.s1.eyJwIjoiaG9tZXBhZ2VfaGVybyIsImMiOiJjLTIiLCJtIjoiZGlzY291bnQiLCJjaCI6IndlYiIsInNhIjoxNzk1NjQxMjUwLCJwciI6MC4zMywicHYiOjMsImlhIjoxNzk1NjQxMjUwLCJleCI6MTc5NTgxNDA1MCwibiI6Im53UFN4WEpSc00xNCIsInJlIjoiY2xpY2siLCJydyI6ODY0MDAsInJ2IjpmYWxzZSwib2QiOmZhbHNlLCJlIjoiaGVyb19jb3B5IiwidiI6ImRpc2NvdW50IiwicGgiOjEsImR5IjpmYWxzZSwic2wiOjY5LCJsZyI6ImhlIn0.-2aJ85e-7eRLerLq185W1g",
                    "\u2068חבר\u2069, 10% הנחה רק היום",
                    "he",
                    "rtl",
                ),
            ],
        },
    },
    ("GET", "/v1/placements"): {
        "url": "/v1/placements",
        "status": 200,
        "response": {
            "placements": [
                {
                    "key": "cart_reminder",
                    "version": 2,
                    "description": "A reminder for carts left behind, by email or SMS",
                    "channels": ["email", "sms"],
                    "exposure": "event",
                    "context_fields": ["cart_url"],
                    "policy": {
                        "type": "rule",
                        "message": "reminder",
                        "reward": {"event": "click", "window_hours": 72.0, "value": False},
                    },
                    "messages": [
                        {
                            "key": "reminder",
                            "content": {
                                "email": {
                                    "subject": {
                                        "en": "{{ contact.first_name | default: 'Hi' }}, you left something",
                                        "fa": "{{ contact.first_name | default: 'سلام' }}، چیزی جا گذاشتید",
                                    },
                                    "html": '<p>Your cart is waiting: <a href="{{ context.cart_url }}">open it</a></p>',
                                },
                                "sms": {"text": "Your cart is waiting: {{ context.cart_url }}"},
                            },
                        }
                    ],
                    "default_message": "reminder",
                    "default_locale": "en",
                    "channel": {"type": "ordered", "max_fallbacks": 2},
                }
            ]
        },
    },
    ("PUT", "/v1/placements/{key}"): {
        "url": "/v1/placements/hero_bandit",
        "request": {
            "channels": ["web"],
            "policy": {
                "type": "bandit",
                "algorithm": "thompson",
                "reward": {"event": "click", "window_hours": 24},
            },
            "messages": [
                {
                    "key": "welcome",
                    "content": {"web": {"headline": {"en": "Welcome back", "fa": "خوش آمدید"}}},
                },
                {
                    "key": "sale",
                    "content": {
                        "web": {"headline": {"en": "10% off today", "fa": "۱۰٪ تخفیف امروز"}}
                    },
                },
            ],
        },
        "status": 201,
        "response": {
            "key": "hero_bandit",
            "version": 4,
            "channels": ["web"],
            "exposure": "event",
            "context_fields": [],
            "policy": {
                "type": "bandit",
                "algorithm": "thompson",
                "reward": {"event": "click", "window_hours": 24.0, "value": False},
            },
            "messages": [
                {
                    "key": "welcome",
                    "content": {"web": {"headline": {"en": "Welcome back", "fa": "خوش آمدید"}}},
                },
                {
                    "key": "sale",
                    "content": {
                        "web": {"headline": {"en": "10% off today", "fa": "۱۰٪ تخفیف امروز"}}
                    },
                },
            ],
            "default_message": "welcome",
            "default_locale": "en",
            "channel": {"type": "ordered", "max_fallbacks": 2},
        },
    },
    ("GET", "/v1/placements/{key}"): {
        "url": "/v1/placements/homepage_hero",
        "status": 200,
        "response": {
            "key": "homepage_hero",
            "version": 1,
            "description": "Hero banner on the home page, A/B/C tested",
            "channels": ["web"],
            "exposure": "event",
            "context_fields": [],
            "policy": {
                "type": "experiment",
                "experiment": "hero_copy",
                "reward": {"event": "click", "window_hours": 24.0, "value": False},
            },
            "messages": [
                {
                    "key": "welcome",
                    "content": {
                        "web": {
                            "headline": {
                                "en": "Hi {{ contact.first_name | default: 'there' }}, welcome back",
                                "fa": "{{ contact.first_name | default: 'دوست عزیز' }}، خوش آمدید",
                                "he": "{{ contact.first_name | default: 'חבר' }}, ברוכים השבים",
                                "ru": "{{ contact.first_name | default: 'друг' }}, с возвращением",
                            },
                            "html": "<a href=\"https://shop.example/new\">{{ contact.first_name | default: 'New' }} arrivals</a>",
                        }
                    },
                },
                {
                    "key": "discount",
                    "content": {
                        "web": {
                            "headline": {
                                "en": "{{ contact.first_name | default: 'Friend' }}, 10% off today only",
                                "fa": "{{ contact.first_name | default: 'دوست عزیز' }}، فقط امروز ۱۰٪ تخفیف",
                                "he": "{{ contact.first_name | default: 'חבר' }}, 10% הנחה רק היום",
                                "ru": "{{ contact.first_name | default: 'Друг' }}, скидка 10% только сегодня",
                            },
                            "html": '<a href="https://shop.example/sale">10%</a>',
                        }
                    },
                },
                {
                    "key": "free_shipping",
                    "content": {
                        "web": {
                            "headline": {
                                "en": "Free shipping on your next order, {{ contact.first_name | default: 'friend' }}",
                                "fa": "ارسال رایگان سفارش بعدی شما، {{ contact.first_name | default: 'دوست عزیز' }}",
                                "he": "משלוח חינם בהזמנה הבאה, {{ contact.first_name | default: 'חבר' }}",
                                "ru": "Бесплатная доставка следующего заказа, {{ contact.first_name | default: 'друг' }}",
                            },
                            "html": '<a href="https://shop.example/shipping">Free shipping</a>',
                        }
                    },
                },
            ],
            "default_message": "welcome",
            "default_locale": "en",
            "channel": {"type": "ordered", "max_fallbacks": 2},
        },
    },
    ("GET", "/v1/placements/{key}/stats"): {
        "url": "/v1/placements/homepage_hero/stats",
        "status": 200,
        "response": {
            "placement": "homepage_hero",
            "policy": "experiment",
            "reward": "binary",
            "segments": [
                {
                    "segment": "",
                    "arms": [
                        {
                            "arm": "welcome",
                            "decided": 1,
                            "trials": 1.0,
                            "rewards": 1.0,
                            "mean": 0.6666666666666666,
                            "interval": [0.15811388300841903, 0.9874208829065749],
                            "chance_best": 0.5052,
                        },
                        {
                            "arm": "discount",
                            "decided": 2,
                            "trials": 0.0,
                            "rewards": 0.0,
                            "mean": 0.5,
                            "interval": [0.025000000000000022, 0.975],
                            "chance_best": 0.24255,
                        },
                        {
                            "arm": "free_shipping",
                            "decided": 0,
                            "trials": 0.0,
                            "rewards": 0.0,
                            "mean": 0.5,
                            "interval": [0.025000000000000022, 0.975],
                            "chance_best": 0.25225,
                        },
                    ],
                }
            ],
        },
    },
    ("GET", "/v1/placements/{key}/attribution"): {
        "url": "/v1/placements/homepage_hero/attribution",
        "status": 200,
        "response": {
            "placement": "homepage_hero",
            "window_days": 7.0,
            "conversion_events": ["conversion", "purchase", "revenue"],
            "models": {"last_touch": [], "linear": []},
        },
    },
    ("POST", "/v1/placements/{key}/preview"): {
        "url": "/v1/placements/homepage_hero/preview",
        "request": {"attributes": {"first_name": "Maryam", "locale": "fa-IR"}},
        "status": 200,
        "response": {
            "placement": "homepage_hero",
            "messages": [
                {
                    "key": "welcome",
                    "content": {
                        "web": {
                            "headline": "\u2068Maryam\u2069، خوش آمدید",
                            "html": '<a href="https://shop.example/new">Maryam arrivals</a>',
                        }
                    },
                    "locale": "fa",
                    "direction": "rtl",
                },
                {
                    "key": "discount",
                    "content": {
                        "web": {
                            "headline": "\u2068Maryam\u2069، فقط امروز ۱۰٪ تخفیف",
                            "html": '<a href="https://shop.example/sale">10%</a>',
                        }
                    },
                    "locale": "fa",
                    "direction": "rtl",
                },
                {
                    "key": "free_shipping",
                    "content": {
                        "web": {
                            "headline": "ارسال رایگان سفارش بعدی شما، \u2068Maryam\u2069",
                            "html": '<a href="https://shop.example/shipping">Free shipping</a>',
                        }
                    },
                    "locale": "fa",
                    "direction": "rtl",
                },
            ],
        },
    },
    ("POST", "/v1/placements/{key}/evaluate"): {
        "url": "/v1/placements/hero_bandit/evaluate",
        "request": {"policy": {"weights": {"welcome": 0.2, "sale": 0.8}}},
        "status": 200,
        "response": {
            "placement": "hero_bandit",
            "decisions": 2,
            "candidate": {"weights": {"welcome": 0.2, "sale": 0.8}},
            "logged_policy_value": 1.0,
            "ips": {
                "estimate": 0.39682539682539686,
                "interval": [0.39682539682539686, 0.39682539682539686],
            },
            "snips": {"estimate": 1.0, "interval": [1.0, 1.0]},
            "doubly_robust": {"estimate": 0.2, "interval": [0.2, 0.2]},
        },
    },
    ("GET", "/v1/placements/{key}/state"): {
        "url": "/v1/placements/hero_bandit/state",
        "status": 200,
        "response": {
            "placement": "hero_bandit",
            "exported_at": 1795641250.342,
            "segments": {
                "": {
                    "sale": {"decided": 2.0, "n": 2.0},
                    "welcome": {"decided": 2.0, "n": 2.0, "sum": 2.0, "sum_sq": 2.0},
                }
            },
            "daily": {},
        },
    },
    ("PUT", "/v1/placements/{key}/state"): {
        "url": "/v1/placements/hero_bandit/state",
        "request": {
            "placement": "hero_bandit",
            "exported_at": 1795641250.342,
            "segments": {
                "": {
                    "sale": {"decided": 2.0, "n": 2.0},
                    "welcome": {"decided": 2.0, "n": 2.0, "sum": 2.0, "sum_sq": 2.0},
                }
            },
            "daily": {},
        },
        "status": 200,
        "response": {"placement": "hero_bandit", "imported": 1},
    },
    ("GET", "/v1/placements/{key}/decisions.ndjson"): {
        "url": "/v1/placements/hero_bandit/decisions.ndjson",
        "status": 200,
        "response": '{"nonce":"BpDMtmmuqrTK","contact_id":"v-0","arm":"sale","propensity":0.496,"segment":"","policy_version":4,"issued_at":1795641250,"reward_window_s":86400,"context":{}}\n{"nonce":"c8jtGXe4A82v","contact_id":"v-1","arm":"welcome","propensity":0.504,"segment":"","policy_version":4,"issued_at":1795641250,"reward_window_s":86400,"context":{}}\n{"nonce":"27BbVje3UbVf","contact_id":"v-2","arm":"sale","propensity":0.496,"segment":"","policy_version":4,"issued_at":1795641250,"reward_window_s":86400,"context":{}}\n{"nonce":"S4FIMnFUPp3r","contact_id":"v-3","arm":"welcome","propensity":0.504,"segment":"","policy_version":4,"issued_at":1795641250,"reward_window_s":86400,"context":{}}\n',
        "media": "application/x-ndjson",
    },
    ("GET", "/v1/experiments"): {
        "url": "/v1/experiments",
        "status": 200,
        "response": {"experiments": [_HERO_COPY]},
    },
    ("PUT", "/v1/experiments/{key}"): {
        "url": "/v1/experiments/hero_copy_2",
        "request": {
            "placement": "homepage_hero",
            "status": "draft",
            "variations": [
                {"key": "control", "message": "welcome", "weight": 0.5},
                {"key": "discount", "message": "discount", "weight": 0.5},
            ],
            "metrics": {"primary": {"event": "click", "type": "binomial", "window_hours": 24}},
        },
        "status": 201,
        "response": {
            "key": "hero_copy_2",
            "version": 5,
            "placement": "homepage_hero",
            "status": "draft",
            "metrics": {"primary": {"event": "click", "type": "binomial", "window_hours": 24}},
            "phase": 1,
            "seed": "hero_copy_2",
            "hash_version": 2,
            "coverage": 1.0,
            "variations": [
                {"key": "control", "message": "welcome", "weight": 0.5},
                {"key": "discount", "message": "discount", "weight": 0.5},
            ],
        },
    },
    ("GET", "/v1/experiments/{key}"): {
        "url": "/v1/experiments/hero_copy",
        "status": 200,
        "response": _HERO_COPY,
    },
    ("GET", "/v1/experiments/{key}/results"): {
        "url": "/v1/experiments/hero_copy/results",
        "status": 200,
        "response": _RESULTS,
    },
    ("POST", "/v1/experiments/{key}/check"): {
        "url": "/v1/experiments/hero_copy/check",
        "status": 200,
        "response": _RESULTS,  # check answers with the results it looked at
    },
    ("GET", "/v1/experiments/{key}/log"): {
        "url": "/v1/experiments/hero_copy/log",
        "status": 200,
        "response": {"experiment": "hero_copy", "actions": []},
    },
    ("GET", "/v1/experiments/{key}/exposures.ndjson"): {
        "url": "/v1/experiments/hero_copy/exposures.ndjson",
        "status": 200,
        "response": '{"experiment":"hero_copy","phase":1,"contact_id":"c-1842","variation":"control","exposed_at":1795641250.0}\n{"experiment":"hero_copy","phase":1,"contact_id":"c-1","variation":"discount","exposed_at":1795641250.0}\n{"experiment":"hero_copy","phase":1,"contact_id":"c-2","variation":"discount","exposed_at":1795641250.0}\n',
        "media": "application/x-ndjson",
    },
    ("GET", "/reports/experiments/{key}"): {
        "url": "/reports/experiments/hero_copy",
        "status": 200,
        "response": '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>decide · hero_copy</title>\n<style>…</style>…',
        "media": "text/html",
    },
    ("GET", "/v1/experiments/{key}/results.csv"): {
        "url": "/v1/experiments/hero_copy/results.csv",
        "status": 200,
        "media": "text/csv",
        "response": "\ufeffexperiment,phase,metric,metric_type,role,variation,is_control,users,sum,mean,…\r\nhero_copy,1,click,binomial,primary,control,true,1,0.0,0.0,…\r\n",
    },
    ("GET", "/v1/placements/{key}/stats.csv"): {
        "url": "/v1/placements/homepage_hero/stats.csv",
        "status": 200,
        "media": "text/csv",
        "response": "\ufeffplacement,policy,segment,arm,decided,trials,rewards,mean,interval_lower,interval_upper,chance_best,weight\r\nhomepage_hero,experiment,,welcome,1,0.0,0.0,0.5,0.025,0.975,0.33075,\r\n",
    },
    ("GET", "/reports/"): {
        "url": "/reports/",
        "status": 200,
        "media": "text/html",
        "response": '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>decide · reports</title>…',
    },
    ("GET", "/reports/placements/{key}"): {
        "url": "/reports/placements/homepage_hero",
        "status": 200,
        "media": "text/html",
        "response": '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>decide · homepage_hero</title>…',
    },
    ("POST", "/v1/experiments/{key}/rollout"): {
        "url": "/v1/experiments/hero_copy_2/rollout",
        "request": {"variation": "discount"},
        "status": 200,
        "response": {
            "key": "hero_copy_2",
            "version": 6,
            "placement": "homepage_hero",
            "status": "rolled_out",
            "metrics": {"primary": {"event": "click", "type": "binomial", "window_hours": 24}},
            "coverage": 1.0,
            "rollout_variation": "discount",
            "phase": 1,
            "seed": "hero_copy_2",
            "hash_version": 2,
            "variations": [
                {"key": "control", "message": "welcome", "weight": 0.5},
                {"key": "discount", "message": "discount", "weight": 0.5},
            ],
        },
    },
    ("POST", "/v1/experiments/{key}/stop"): {
        "url": "/v1/experiments/hero_copy_2/stop",
        "status": 200,
        "response": {
            "key": "hero_copy_2",
            "version": 7,
            "placement": "homepage_hero",
            "status": "stopped",
            "metrics": {"primary": {"event": "click", "type": "binomial", "window_hours": 24}},
            "coverage": 1.0,
            "rollout_variation": "discount",
            "phase": 1,
            "seed": "hero_copy_2",
            "hash_version": 2,
            "variations": [
                {"key": "control", "message": "welcome", "weight": 0.5},
                {"key": "discount", "message": "discount", "weight": 0.5},
            ],
        },
    },
    ("GET", "/v1/holdouts"): {"url": "/v1/holdouts", "status": 200, "response": {"holdouts": []}},
    ("PUT", "/v1/holdouts/{key}"): {
        "url": "/v1/holdouts/all",
        "request": {"share": 0.05, "description": "measures personalization as a whole"},
        "status": 201,
        "response": {
            "key": "all",
            "version": 8,
            "share": 0.05,
            "description": "measures personalization as a whole",
            "namespaces": [],
            "seed": "all",
        },
    },
    ("GET", "/v1/holdouts/{key}"): {
        "url": "/v1/holdouts/all",
        "status": 200,
        "response": {
            "key": "all",
            "version": 8,
            "share": 0.05,
            "description": "measures personalization as a whole",
            "namespaces": [],
            "seed": "all",
        },
    },
    ("GET", "/v1/segments"): {"url": "/v1/segments", "status": 200, "response": {"segments": []}},
    ("PUT", "/v1/segments/{key}"): {
        "url": "/v1/segments/vip_tehran",
        "request": {"condition": {"contact.city": "Tehran"}, "description": "customers in Tehran"},
        "status": 201,
        "response": {
            "key": "vip_tehran",
            "version": 9,
            "condition": {"contact.city": "Tehran"},
            "description": "customers in Tehran",
        },
    },
    ("GET", "/v1/segments/{key}"): {
        "url": "/v1/segments/vip_tehran",
        "status": 200,
        "response": {
            "key": "vip_tehran",
            "version": 9,
            "condition": {"contact.city": "Tehran"},
            "description": "customers in Tehran",
        },
    },
    ("PUT", "/v1/workspace"): {
        "url": "/v1/workspace",
        "request": {
            "frequency_caps": [{"channel": "email", "max": 3, "days": 7}],
            "quiet_hours": {"start": "21:00", "end": "08:00"},
        },
        "status": 201,
        "response": {
            "key": "default",
            "version": 10,
            "frequency_caps": [{"channel": "email", "max": 3, "days": 7}],
            "quiet_hours": {"start": "21:00", "end": "08:00"},
        },
    },
    ("GET", "/v1/workspace"): {
        "url": "/v1/workspace",
        "status": 200,
        "response": {
            "version": 10,
            "frequency_caps": [{"channel": "email", "max": 3, "days": 7}],
            "quiet_hours": {"start": "21:00", "end": "08:00"},
        },
    },
    ("PUT", "/v1/contacts/{id}"): {
        "url": "/v1/contacts/c-1842",
        "request": {
            "attributes": {
                "first_name": "Maryam",
                "locale": "fa-IR",
                "timezone": "Asia/Tehran",
                "email": "maryam@example.com",
                "city": "Tehran",
            }
        },
        "status": 200,
        "response": {
            "contact_id": "c-1842",
            "fields": 5,
            "attributes": {
                "first_name": "Maryam",
                "locale": "fa-IR",
                "timezone": "Asia/Tehran",
                "email": "maryam@example.com",
                "city": "Tehran",
            },
        },
    },
    ("PATCH", "/v1/contacts/{id}"): {
        "url": "/v1/contacts/c-1842",
        "request": {"attributes": {"lifecycle_stage": "customer", "city": None}},
        "status": 200,
        "response": {
            "contact_id": "c-1842",
            "fields": 5,
            "attributes": {
                "first_name": "Maryam",
                "locale": "fa-IR",
                "timezone": "Asia/Tehran",
                "email": "maryam@example.com",
                "lifecycle_stage": "customer",
            },
        },
    },
    ("POST", "/v1/contacts/{id}/merge"): {
        "url": "/v1/contacts/c-1842/merge",
        "request": {"from": "anon-7f3a"},
        "status": 200,
        "response": {
            "merged": "anon-7f3a",
            "into": "c-1842",
            "already_merged": False,
            "keys_removed": 0,
        },
    },
    ("GET", "/v1/contacts/{id}"): {
        "url": "/v1/contacts/c-1842",
        "status": 200,
        "response": {
            "contact_id": "c-1842",
            "attributes": {
                "first_name": "Maryam",
                "locale": "fa-IR",
                "timezone": "Asia/Tehran",
                "email": "maryam@example.com",
                "lifecycle_stage": "customer",
            },
            "behaviour": {
                "counts": {"impression": 1, "click": 1},
                "last_seen": 1795641250.0,
                "first_seen": 1795641250.0,
                "score": 0.0,
                "lifecycle_stage": None,
            },
            "send_time": {"sends": 0, "engaged": 0, "slots": []},
            "sends": [],
        },
    },
    ("GET", "/v1/export/events"): {
        "url": "/v1/export/events?limit=2",
        "status": 200,
        "response": '{"event_id":"e-1","type":"impression","contact_id":"c-1842","timestamp":"2026-11-25T21:14:10.047753Z","decision":{"placement":"homepage_hero","message":"welcome","experiment":"hero_copy","variation":"control","segment":"","propensity":0.34,"issued_at":1795641250,"nonce":"FjN8hro3J3gd"}}\n{"event_id":"e-2","type":"click","contact_id":"c-1842","timestamp":"2026-11-25T21:14:10.047753Z","decision":{"placement":"homepage_hero","message":"welcome","experiment":"hero_copy","variation":"control","segment":"","propensity":0.34,"issued_at":1795641250,"nonce":"FjN8hro3J3gd"}}\n',
        "media": "application/x-ndjson",
    },
    ("DELETE", "/v1/contacts/{id}"): {
        "url": "/v1/contacts/c-1842",
        "status": 200,
        "response": {
            "contact_id": "c-1842",
            "erased": {
                "keys": 6,
                "experiment_entries": 2,
                "decision_log_entries": 0,
                "event_log_entries": 1,
                "batch_entries": 0,
            },
        },
    },
    ("DELETE", "/v1/segments/{key}"): {
        "url": "/v1/segments/vip_tehran",
        "status": 200,
        "response": {"deleted": "vip_tehran", "version": 11},
    },
    ("DELETE", "/v1/holdouts/{key}"): {
        "url": "/v1/holdouts/all",
        "status": 200,
        "response": {"deleted": "all", "version": 12},
    },
    ("DELETE", "/v1/experiments/{key}"): {
        "url": "/v1/experiments/hero_copy_2",
        "status": 200,
        "response": {"deleted": "hero_copy_2", "version": 13},
    },
    ("DELETE", "/v1/placements/{key}"): {
        "url": "/v1/placements/hero_bandit",
        "status": 200,
        "response": {"deleted": "hero_bandit", "version": 14},
    },
    ("GET", "/v1/audit"): {
        "url": "/v1/audit?limit=2",
        "status": 200,
        "response": {
            "entries": [
                {
                    "id": "1795641250512-0",
                    "action": "put",
                    "kind": "experiments",
                    "key": "hero_copy",
                    "by": "demo",
                    "at": 1795641250.512,
                    "version_before": 2,
                    "version_after": 3,
                },
                {
                    "id": "1795641250498-0",
                    "action": "put",
                    "kind": "placements",
                    "key": "cart_reminder",
                    "by": "demo",
                    "at": 1795641250.498,
                    "version_before": 1,
                    "version_after": 2,
                },
            ]
        },
    },
    ("GET", "/metrics"): {
        "url": "/metrics",
        "status": 200,
        "media": "text/plain",
        "response": '# HELP decide_http_requests_total HTTP requests by route template and status\n# TYPE decide_http_requests_total counter\ndecide_http_requests_total{method="POST",route="/v1/decide",status="200"} 1.0\n…',
    },
    ("GET", "/docs"): {
        "url": "/docs",
        "status": 200,
        "media": "text/html",
        "response": '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>decide API</title>…',
    },
    ("GET", "/static/decide.js"): {
        "url": "/static/decide.js",
        "status": 200,
        "media": "text/javascript",
        "response": "/* decide.js: renders a decide decision into the page and reports its impression and click.…",
    },
}


def with_examples(document: dict[str, Any]) -> dict[str, Any]:
    """Attach each example to its operation: the request and response bodies as OpenAPI
    `example`s, and the URL it was called with as `x-example-url`."""
    for (method, path), example in EXAMPLES.items():
        operation = document["paths"][path][method.lower()]
        operation["x-example-url"] = example["url"]
        if "request" in example:
            operation["requestBody"]["content"]["application/json"]["example"] = example["request"]
        ok = operation["responses"].setdefault(str(example["status"]), {"description": "OK"})
        content = ok.setdefault("content", {})
        media = example.get("media", "application/json")
        content.setdefault(media, {})["example"] = example["response"]
    return document
