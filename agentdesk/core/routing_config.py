"""``[routing]`` in the config: whether the desk assigns by itself, and how.

```toml
[routing]
enabled = true                 # push: the desk assigns waiting tasks itself
preferred_wait_realtime = 60   # seconds a chat/SMS/social/phone task waits for its agent
preferred_wait_email = 14400
primary_after = 120            # then agents with the first rule's skill alone
overflow_after = 600           # then anyone of the task's team
aging_per_minute = 0.1         # priority points a minute of waiting is worth
away_grace = 120               # an away agent's live chats go back to the queue after this

[[routing.rules]]
when = "channel:sms-fr"        # the search language's filters and words
skills = ["fr"]

[[routing.rules]]
when = "tag:billing OR refund"
skills = ["billing"]

[[routing.rules]]
customer = { plan = ["enterprise", "gold"] }   # the customer's fields
when = "channel:chat"                          # and, when both, this too
skills = ["key-accounts"]
priority = 1                                   # queue points gained
```

A task needs the skills of every rule its first message matches; the first
matching rule's first skill is its *primary* skill. With ``languages``, the
language of its first message is a skill too (``fr``, ``en``):

```toml
[routing]
languages = ["fr", "en"]                      # detected among these
channel_languages = { "sms-fr" = "fr" }       # a channel that has one language
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentdesk.query import Query, QuerySyntaxError, parse_query
from agentdesk.query.fold import fold
from agentdesk.routing import RoutingRules

from .language import known_code

if TYPE_CHECKING:
    from .config import _Reader


@dataclass(frozen=True, slots=True)
class SkillRule:
    """What a task matching ``when`` (and ``customer``) needs and gains."""

    when: Query | None = None
    skills: tuple[str, ...] = ()
    #: Customer fields (folded) and the values any of which they must hold.
    customer: dict[str, frozenset[str]] = field(default_factory=dict)
    #: Queue priority points the task gains (or loses, below zero).
    priority: int = 0

    def matches_customer(self, attributes: dict[str, str]) -> bool:
        folded = {fold(name): fold(value) for name, value in attributes.items()}
        return all(folded.get(name) in values for name, values in self.customer.items())


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    enabled: bool = False
    rules: RoutingRules = field(default_factory=RoutingRules)
    skill_rules: tuple[SkillRule, ...] = ()
    #: Detect the first message's language among these; it is a skill then.
    languages: tuple[str, ...] = ()
    #: Channels whose customers write one language (no detection there).
    channel_languages: dict[str, str] = field(default_factory=dict)
    #: Seconds an away or offline agent keeps their live conversations (chat,
    #: SMS, social, phone) before they go back to the queue; email stays.
    away_grace: float = 120.0


_NUMBERS = (
    "preferred_wait_realtime",
    "preferred_wait_email",
    "primary_after",
    "overflow_after",
    "aging_per_minute",
)
_OWN_NUMBERS = ("away_grace",)


def parse_routing(r: _Reader, table: dict[str, Any]) -> RoutingConfig:
    r.check_keys(
        "routing",
        table,
        {"enabled", "rules", "languages", "channel_languages", *_NUMBERS, *_OWN_NUMBERS},
    )
    numbers = {
        name: r.number(f"routing.{name}", table[name], 0) for name in _NUMBERS if name in table
    }
    rules = []
    raw_rules = table.get("rules", [])
    if not isinstance(raw_rules, list):
        raise r.fail("routing.rules", "expected an array of tables ([[routing.rules]])")
    for index, raw in enumerate(raw_rules):
        rules.append(_rule(r, f"routing.rules[{index}]", raw))
    languages = tuple(
        code.lower() for code in r.texts("routing.languages", table.get("languages", []))
    )
    by_channel = r.mapping("routing.channel_languages", table.get("channel_languages", {}))
    for key, code in [("routing.languages", c) for c in languages] + [
        (f"routing.channel_languages.{name}", c) for name, c in by_channel.items()
    ]:
        if not known_code(code):
            raise r.fail(key, f"{code!r} is not an ISO 639-1 language code (fr, en, de…)")
    return RoutingConfig(
        enabled=r.flag("routing.enabled", table.get("enabled", False)),
        rules=RoutingRules(**numbers),
        skill_rules=tuple(rules),
        languages=languages,
        channel_languages={name: code.lower() for name, code in by_channel.items()},
        away_grace=r.number("routing.away_grace", table.get("away_grace", 120.0), 0),
    )


def _rule(r: _Reader, key: str, raw: Any) -> SkillRule:
    rule = r.table(key, raw)
    r.check_keys(key, rule, {"when", "customer", "skills", "priority"})
    if "when" not in rule and "customer" not in rule:
        raise r.fail(key, "a rule needs a condition: `when`, `customer` or both")
    if "skills" not in rule and "priority" not in rule:
        raise r.fail(key, "a rule needs `skills`, `priority` or both")
    when = None
    if "when" in rule:
        try:
            when = parse_query(r.text(f"{key}.when", rule["when"]))
        except QuerySyntaxError as exc:
            raise r.fail(f"{key}.when", exc.message) from None
    skills = tuple(r.texts(f"{key}.skills", rule.get("skills", [])))
    if "skills" in rule and not skills:
        raise r.fail(f"{key}.skills", "name at least one skill")
    customer: dict[str, frozenset[str]] = {}
    for name, wanted in r.table(f"{key}.customer", rule.get("customer", {})).items():
        where = f"{key}.customer.{name}"
        values = [wanted] if isinstance(wanted, str) else wanted
        texts = r.texts(where, values) if isinstance(values, list) else [r.text(where, values)]
        if not texts:
            raise r.fail(where, "name at least one value")
        customer[fold(name)] = frozenset(fold(text) for text in texts)
    priority = r.integer(f"{key}.priority", rule.get("priority", 0), -10, 10)
    return SkillRule(when, skills, customer, priority)
