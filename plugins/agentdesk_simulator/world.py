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
import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from typing import NamedTuple

from .scripts import MATTERS, Matter

KINDS = ("email", "chat", "sms", "social", "phone")
#: Phone numbers end with the person's number in five digits.
MAX_CUSTOMERS = 99_999
_TRAILING_NUMBER = re.compile(r"\d+$")

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


class Person(NamedTuple):
    """A simulated customer (a named tuple: one is made per person and step)."""

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


class Step(NamedTuple):
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


_LOGIN = {name: _ascii(name) for name in (*_FIRST_FR, *_LAST_FR, *_FIRST_EN, *_LAST_EN)}


class World:
    """The deterministic population and journeys for one seed.

    People are made on demand from their number, and every address ends with
    that number (the last five digits of a phone number), so building a world
    costs nothing and finding the person behind an address is a lookup.
    """

    def __init__(self, seed: int, customers: int = 40) -> None:
        if not 1 <= customers <= MAX_CUSTOMERS:
            raise ValueError(f"customers must be between 1 and {MAX_CUSTOMERS}")
        self.seed = seed
        self.customers = customers
        self._people: dict[int, Person] = {}

    @classmethod
    def shared(cls, seed: int, customers: int) -> World:
        """The world of ``seed``, one for every simulator instance that asks.

        The five simulated channels of a demo live in one world: sharing it
        makes each person once rather than once per channel. A world is
        derived from its seed alone, so sharing changes nothing they see.
        """
        return _shared_world(seed, customers)

    def person(self, number: int) -> Person:
        known = self._people.get(number)
        if known is not None:
            return known
        # Every choice comes from bits of one hash: no generator to seed per person.
        bits = _mix(self.seed, number, 1)
        language = "fr" if bits & 1 else "en"
        firsts, lasts = (_FIRST_FR, _LAST_FR) if language == "fr" else (_FIRST_EN, _LAST_EN)
        first = firsts[(bits >> 1) % len(firsts)]
        last = lasts[(bits >> 9) % len(lasts)]
        login = f"{_LOGIN[first]}.{_LOGIN[last]}".replace(" ", "")
        if language == "fr":
            digits = f"{(bits >> 17) % 1000:03d}{number:05d}"
            phone = f"+33 6 {digits[:2]} {digits[2:4]} {digits[4:6]} {digits[6:]}"
            domain = "example.fr"
        else:
            digits = f"{(bits >> 17) % 10000:04d}{number:05d}"
            phone = f"+44 7{digits[:3]} {digits[3:]}"
            domain = "example.com"
        person = Person(
            name=f"{first} {last}",
            language=language,
            email=f"{login}{number}@{domain}",
            phone=phone,
            handle=f"@{login.replace('.', '_')}{number}",
        )
        self._people[number] = person
        return person

    def person_for(self, identity: str) -> Person | None:
        """The person behind an address (email, phone or handle), if simulated."""
        key = _identity_key(identity)
        if key.startswith("+"):
            found = _TRAILING_NUMBER.search(key[-5:])
        else:
            found = _TRAILING_NUMBER.search(key.split("@")[0])
        if found is None or int(found.group()) >= self.customers:
            return None
        person = self.person(int(found.group()))
        known = {_identity_key(person.identity(kind)) for kind in ("email", "sms", "social")}
        return person if key in known else None

    def journey(self, number: int, kind: str | None = None) -> list[Step]:
        """Journey ``number``'s steps (only those of ``kind`` when given).

        Derived from a hash of the seed and the number, so any journey can be
        made without making the ones before it.
        """
        mixed = _mix(self.seed, number, 2)
        path = _PATHS[mixed % len(_PATHS)]
        if kind is not None and kind not in path:
            return []
        person = self.person((mixed >> 8) % self.customers)
        matter = MATTERS[(mixed >> 40) % len(MATTERS)]
        return [
            Step(number, stage, person, matter, step_kind, path[stage - 1] if stage else None)
            for stage, step_kind in enumerate(path)
            if kind is None or step_kind == kind
        ]

    def steps(self, kind: str) -> Iterator[Step]:
        """Every step of this kind, in the order the world lives them (endless)."""
        pending: list[tuple[float, int, int, Step]] = []
        number = 0
        while True:
            for step in self.journey(number, kind):
                when = number + step.stage * _STEP_GAP
                heapq.heappush(pending, (when, step.journey, step.stage, step))
            # Steps due before the next journey begins can no longer be overtaken.
            while pending and pending[0][0] <= number:
                yield heapq.heappop(pending)[3]
            number += 1


@lru_cache(maxsize=8)
def _shared_world(seed: int, customers: int) -> World:
    return World(seed, customers)


_MASK = (1 << 64) - 1


def _mix(seed: int, number: int, salt: int) -> int:
    """A well-spread 64-bit hash of three integers (splitmix64 finaliser)."""
    z = (seed * 0x9E3779B97F4A7C15 + number * 0xD1B54A32D192ED03 + salt) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def _identity_key(identity: str) -> str:
    identity = identity.strip().lower()
    if identity.startswith("+"):
        return "+" + "".join(c for c in identity if c.isdigit())
    return identity.lstrip("@")
