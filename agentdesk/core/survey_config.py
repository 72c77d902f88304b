"""``[surveys]`` in the config: what the customer is asked once a task is closed.

```toml
[surveys]
ask = ["csat", "ces"]      # csat (1-5), ces (CES 2.0, 1-7 "it was easy"), or both
delay = "10m"              # after the agent closes the task
customer_days = 30         # at most one survey per customer in this many days
answer_days = 7            # a reply with a number counts as an answer this long
language = "en"            # when the customer's file names none (en and fr are shipped)

[surveys.texts.de]         # more languages, or other words for en and fr
csat = "Wie zufrieden waren Sie mit unserer Hilfe zu #{number}?"
ces = "Das Unternehmen hat es mir leicht gemacht, mein Anliegen zu lösen."
reply = "Antworten Sie mit einer Zahl von {low} ({low_label}) bis {high} ({high_label})."
click = "Klicken Sie auf Ihre Antwort:"
csat_low = "sehr unzufrieden"
csat_high = "sehr zufrieden"
ces_low = "stimme gar nicht zu"
ces_high = "stimme voll zu"
```

A survey is sent once per task, only after an agent closed it (never after
the desk closed it, a merge, or a task tagged spam), through the channel the
task ended on, in the form that channel takes (``Capabilities.survey_form``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .sla_config import read_duration

if TYPE_CHECKING:
    from .config import _Reader

#: The metrics and their scales.
SCALES = {"csat": (1, 5), "ces": (1, 7)}
#: The words of one language; every key must be there (a language of the
#: config is completed from English).
TEXT_KEYS = (
    "csat",
    "ces",
    "reply",
    "click",
    "thanks",
    "csat_low",
    "csat_high",
    "ces_low",
    "ces_high",
)
SHIPPED: dict[str, dict[str, str]] = {
    "en": {
        "csat": "How satisfied are you with the help you got on #{number}?",
        "ces": "The company made it easy for me to handle my issue (#{number}).",
        "reply": "Reply with a number from {low} ({low_label}) to {high} ({high_label}).",
        "click": "Click your answer:",
        "thanks": "Thank you: your answer is recorded.",
        "csat_low": "very unsatisfied",
        "csat_high": "very satisfied",
        "ces_low": "strongly disagree",
        "ces_high": "strongly agree",
    },
    "fr": {
        "csat": "Êtes-vous satisfait de l'aide reçue pour #{number} ?",
        "ces": "L'entreprise m'a facilité la résolution de ma demande (#{number}).",
        "reply": "Répondez par un chiffre de {low} ({low_label}) à {high} ({high_label}).",
        "click": "Cliquez sur votre réponse :",
        "thanks": "Merci : votre réponse est enregistrée.",
        "csat_low": "pas du tout satisfait",
        "csat_high": "très satisfait",
        "ces_low": "pas du tout d'accord",
        "ces_high": "tout à fait d'accord",
    },
}


@dataclass(frozen=True, slots=True)
class SurveyConfig:
    ask: tuple[str, ...] = ()
    delay: float = 600.0
    customer_days: float = 30.0
    answer_days: float = 7.0
    language: str = "en"
    texts: dict[str, dict[str, str]] = field(default_factory=lambda: dict(SHIPPED))

    @property
    def enabled(self) -> bool:
        return bool(self.ask)

    def words(self, language: str) -> dict[str, str]:
        """The texts in ``language``, else the default language, else English."""
        for name in (language.lower()[:2], self.language):
            if name in self.texts:
                return self.texts[name]
        return SHIPPED["en"]


def parse_surveys(r: _Reader, table: dict[str, Any]) -> SurveyConfig:
    known = {"ask", "delay", "customer_days", "answer_days", "language", "texts"}
    r.check_keys("surveys", table, known)
    raw = table.get("ask", ["csat"])
    ask = [raw] if isinstance(raw, str) else r.texts("surveys.ask", raw)
    for index, metric in enumerate(ask):
        if metric not in SCALES:
            raise r.fail(f"surveys.ask[{index}]", f"{metric!r} is not a survey (csat or ces)")
    texts = {name: dict(words) for name, words in SHIPPED.items()}
    for name, value in r.table("surveys.texts", table.get("texts", {})).items():
        given = r.mapping(f"surveys.texts.{name}", value)
        for key in given:
            if key not in TEXT_KEYS:
                raise r.fail(
                    f"surveys.texts.{name}.{key}", f"unknown text (known: {', '.join(TEXT_KEYS)})"
                )
        texts[name.lower()] = {**texts.get(name.lower(), SHIPPED["en"]), **given}
    language = r.text("surveys.language", table.get("language", "en")).lower()
    if language not in texts:
        raise r.fail("surveys.language", f"no texts for {language!r} (known: {', '.join(texts)})")
    return SurveyConfig(
        ask=tuple(dict.fromkeys(ask)),
        delay=read_duration(r, "surveys.delay", table.get("delay", 600), zero_ok=True),
        customer_days=r.number("surveys.customer_days", table.get("customer_days", 30), 0),
        answer_days=r.number("surveys.answer_days", table.get("answer_days", 7), 0),
        language=language,
        texts=texts,
    )
