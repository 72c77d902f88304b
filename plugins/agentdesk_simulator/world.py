"""The simulated world: customers, their matters, and their journeys across channels.

Everything is derived from a seed, so every simulator instance built with the
same seed sees the same people. A *journey* is one customer with one matter
moving through a path of channels (email, then SMS, then a phone call); the
simulator instance of each kind emits the steps of its own kind, in journey
order, so the desk receives one customer's contacts about one matter on
several channels and shows them as one timeline.
"""

from __future__ import annotations

import heapq
import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from .scripts import MATTERS, Matter

KINDS = ("email", "chat", "sms", "social", "phone")

_FIRST_FR = (
    "Amélie", "Noël", "Hélène", "François", "Zoé", "Jérôme", "Léa", "Benoît",
    "Cécile", "Maëlle", "Anaïs", "Thérèse", "Loïc", "Gaëlle", "Raphaël", "Inès",
)  # fmt: skip
_LAST_FR = (
    "Dubois", "Lefèvre", "Girard", "Mercier", "Lambert", "Faure", "Rousseau",
    "Chevalier", "Garnier", "Fontaine", "Bonnet", "Morel", "Perrin", "Roux",
)  # fmt: skip
_FIRST_EN = (
    "Oliver", "Siobhán", "Zoë", "Chloé", "Renée", "Margaret", "Daniel", "Priya",
    "Seán", "Aoife", "Thomas", "Hannah", "José", "Björn", "Grace", "Naomi",
)  # fmt: skip
_LAST_EN = (
    "Bennett", "O'Connor", "Clarke", "Hughes", "Walsh", "Ellis", "Price", "Shah",
    "Murphy", "Byrne", "Wright", "Cole", "Álvarez", "Larsen",
)  # fmt: skip

# The channel paths a journey may take, first contact first.
_PATHS = (
    ("email", "sms", "phone"),
    ("email", "chat"),
    ("chat", "email"),
    ("social", "phone"),
    ("sms", "phone", "email"),
    ("phone", "email"),
    ("social", "chat", "email"),
    ("email",),
    ("chat",),
    ("sms",),
    ("social",),
    ("phone", "sms"),
)
# How many journeys later the next step of a journey happens.
_STEP_GAP = 2.5


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    language: str  # "fr" or "en"
    email: str
    phone: str
    handle: str

    def identity(self, kind: str) -> str:
        """This person's address on a channel kind (chat sessions are per step)."""
        if kind == "email":
            return self.email
        if kind == "social":
            return self.handle
        return self.phone


@dataclass(frozen=True, slots=True)
class Step:
    """One contact of a journey: who, about what, on which kind, at which stage."""

    journey: int
    stage: int
    person: Person
    matter: Matter
    kind: str
    previous_kind: str | None

    @property
    def key(self) -> str:
        return f"{self.journey}-{self.stage}"


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "".join(c for c in kept.lower() if c.isalnum() or c == " ").strip()


class World:
    """The deterministic population and journeys for one seed."""

    def __init__(self, seed: int, customers: int = 40) -> None:
        self.seed = seed
        rng = random.Random(f"people:{seed}")
        self.people: list[Person] = []
        for number in range(customers):
            language = "fr" if rng.random() < 0.5 else "en"
            first = rng.choice(_FIRST_FR if language == "fr" else _FIRST_EN)
            last = rng.choice(_LAST_FR if language == "fr" else _LAST_EN)
            login = f"{_ascii(first)}.{_ascii(last)}".replace(" ", "")
            domain = "example.fr" if language == "fr" else "example.com"
            if language == "fr":
                digits = f"{rng.randrange(10**8):08d}"
                phone = f"+33 6 {digits[:2]} {digits[2:4]} {digits[4:6]} {digits[6:]}"
            else:
                phone = f"+44 7700 900{rng.randrange(1000):03d}"
            self.people.append(
                Person(
                    name=f"{first} {last}",
                    language=language,
                    email=f"{login}{number}@{domain}",
                    phone=phone,
                    handle=f"@{login.replace('.', '_')}{number}",
                )
            )
        self._by_identity = {}
        for person in self.people:
            for kind in ("email", "sms", "social"):
                self._by_identity[_identity_key(person.identity(kind))] = person

    def person_for(self, identity: str) -> Person | None:
        """The person behind an address (email, phone or handle), if simulated."""
        return self._by_identity.get(_identity_key(identity))

    def journey(self, number: int) -> list[Step]:
        rng = random.Random(f"journey:{self.seed}:{number}")
        person = rng.choice(self.people)
        matter = rng.choice(MATTERS)
        path = rng.choice(_PATHS)
        return [
            Step(number, stage, person, matter, kind, path[stage - 1] if stage else None)
            for stage, kind in enumerate(path)
        ]

    def steps(self, kind: str) -> Iterator[Step]:
        """Every step of this kind, in the order the world lives them (endless)."""
        pending: list[tuple[float, int, int, Step]] = []
        number = 0
        while True:
            for step in self.journey(number):
                if step.kind == kind:
                    when = number + step.stage * _STEP_GAP
                    heapq.heappush(pending, (when, step.journey, step.stage, step))
            # Steps due before the next journey begins can no longer be overtaken.
            while pending and pending[0][0] <= number:
                yield heapq.heappop(pending)[3]
            number += 1


def _identity_key(identity: str) -> str:
    identity = identity.strip().lower()
    if identity.startswith("+"):
        return "+" + "".join(c for c in identity if c.isdigit())
    return identity.lstrip("@")
