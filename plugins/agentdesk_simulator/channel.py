"""The simulator channel: demo traffic for one channel kind.

Run one instance per kind (``kind = "email"``, ``"chat"``, ``"sms"``,
``"social"``, ``"phone"``) with the same ``seed``: they share one simulated
world, so a customer who wrote by email comes back by SMS or phone about the
same matter. Customers answer agents' replies after ``reply_delay`` seconds,
and answer a satisfaction survey after a reply that sounds like the end of the
conversation ("resolved", "anything else", "bonne journée"...).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections import Counter
from typing import Any

from agentdesk.plugin import (
    Capabilities,
    Channel,
    ChannelConnectionError,
    Delivery,
    Health,
    HealthState,
    Inbound,
    InboundCall,
    InboundMessage,
    InboundSurvey,
    Option,
    Outbound,
    PermanentDeliveryError,
    PluginContext,
    TypingSignal,
)

from . import scripts
from .world import KINDS, MAX_CUSTOMERS, Step, World

CAPABILITIES = {
    "email": Capabilities("email", "email", threading=True, attachments=True),
    "chat": Capabilities(
        "chat",
        "chat",
        realtime=True,
        max_text_length=4000,
        typing_indicators=True,
        survey_form="inline",
    ),
    "sms": Capabilities("sms", "phone", max_text_length=1600, segment_length=160),
    "social": Capabilities("social", "social", max_text_length=1000),
    "phone": Capabilities("phone", "phone", realtime=True, outbound=False, calls=True),
}
# Delivered keys remembered across restarts, so a resent reply is not answered twice.
_REMEMBERED_KEYS = 500
_CURSOR_EVERY = 50


class SimulatorChannel(Channel):
    """Simulated customers writing on one channel kind."""

    plugin = "simulator"
    version = "1.0"
    description = "Realistic demo traffic for one channel kind (email, chat, sms, social, phone)"
    capabilities = CAPABILITIES["email"]
    options = (
        Option.choice("kind", KINDS, default="email", help="which kind of channel to simulate"),
        Option.number(
            "rate", default=6, minimum=0, help="messages per minute; 0 = as fast as the desk takes"
        ),
        Option.number("seed", default=7, minimum=0, integer=True, help="same seed, same world"),
        Option.number(
            "reply_delay", default=20, minimum=0, help="seconds before a customer answers a reply"
        ),
        Option.number("customers", default=40, minimum=1, maximum=MAX_CUSTOMERS, integer=True),
        Option.number(
            "count", default=0, minimum=0, integer=True, help="stop after this many; 0 = never"
        ),
        Option.number(
            "survey_answers",
            default=0.75,
            minimum=0,
            maximum=1,
            help="share of survey questions the customers answer",
        ),
    )

    def __init__(self, context: PluginContext) -> None:
        super().__init__(context)
        options = context.options
        self.kind: str = options["kind"]
        self.capabilities = CAPABILITIES[self.kind]
        self.seed: int = options["seed"]
        self.rate: float = options["rate"]
        self.reply_delay: float = options["reply_delay"]
        self.count: int = options["count"]
        self.survey_answers: float = options["survey_answers"]
        self.world = World.shared(self.seed, options["customers"])
        #: How many times each outbound key reached the (simulated) customer.
        self.deliveries: Counter[str] = Counter()
        self.emitted = 0
        self._delivered: dict[str, str] = {}
        self._called: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._running = False

    # -- lifecycle --------------------------------------------------------

    async def start(self) -> None:
        if self._running:
            return
        self._running = True
        state = self.context.state
        self._delivered = dict(state.get("delivered") or {})
        self.emitted = int(state.get("cursor") or 0)
        self._spawn(self._traffic(), "traffic")
        self.context.report(self.health())

    async def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.context.state.set("cursor", self.emitted)

    def health(self) -> Health:
        if not self._running:
            return Health(HealthState.STOPPED)
        pace = "full speed" if not self.rate else f"{self.rate:g} contacts a minute"
        return Health(HealthState.UP, f"simulated {self.kind}, {pace}")

    def _spawn(self, coro: Any, what: str) -> None:
        task = self.context.spawn(coro, name=f"{self.context.channel_name}-{what}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- inbound traffic ----------------------------------------------------

    async def _traffic(self) -> None:
        pace = random.Random(f"pace:{self.seed}:{self.kind}:{self.emitted}")
        steps = self.world.steps(self.kind)
        for skipped in range(self.emitted):  # resume where the last run stopped
            next(steps)
            if skipped % 1000 == 999:
                await asyncio.sleep(0)
        for step in steps:
            if self.count and self.emitted >= self.count:
                return
            for item in self._items_for(step, pace):
                await self.context.emit(item)
            self.emitted += 1
            if self.emitted % _CURSOR_EVERY == 0:
                await self.context.state.set("cursor", self.emitted)
            if self.rate:
                await asyncio.sleep(60 / self.rate * pace.uniform(0.6, 1.4))

    def _items_for(self, step: Step, pace: random.Random) -> list[Inbound]:
        person, language = step.person, step.person.language
        lines = step.matter.lines(language)
        text = lines.first
        if step.previous_kind is not None:
            earlier = scripts.KIND_WORDS[language][step.previous_kind]
            text = scripts.EARLIER[language].format(kind=earlier, title=lines.title) + lines.follow
        ref = f"sim-{self.seed}-{step.key}"
        if self.kind == "email":
            body = (
                f"{scripts.GREETING[language]}\n\n{text}\n\n"
                f"{scripts.SIGN_OFF[language]}\n{person.name}\n{person.phone}"
            )
            message = InboundMessage(
                identity=person.email,
                text=body,
                external_id=f"<{ref}@{person.email.split('@')[1]}>",
                customer_name=person.name,
                subject=lines.subject,
                other_identities=(("phone", person.phone),),
            )
            return [message]
        if self.kind == "chat":
            session = f"chat-{ref}"
            message = InboundMessage(
                identity=session,
                text=text,
                external_id=ref,
                customer_name=person.name,
                thread_ref=session,
                other_identities=(("email", person.email),),
            )
            return [TypingSignal(session), message]
        if self.kind == "sms":
            return [InboundMessage(identity=person.phone, text=text, external_id=ref)]
        if self.kind == "social":
            message = InboundMessage(
                identity=person.handle,
                text=text,
                external_id=ref,
                customer_name=person.name,
                other_identities=(("email", person.email),),
            )
            return [message]
        return [self._call(step, text, pace)]

    def _call(self, step: Step, text: str, pace: random.Random) -> InboundCall:
        language = step.person.language
        title = step.matter.lines(language).title
        outcome = pace.choices(("answered", "missed", "voicemail"), (70, 20, 10))[0]
        if outcome == "answered":
            summary = scripts.CALL_SUMMARY[language].format(title=title, text=text)
            duration = round(pace.uniform(60, 900))
        elif outcome == "voicemail":
            summary = scripts.VOICEMAIL[language].format(title=title)
            duration = round(pace.uniform(15, 60))
        else:
            summary, duration = scripts.MISSED_CALL[language], 0
        return InboundCall(
            identity=step.person.phone,
            duration_seconds=duration,
            outcome=outcome,
            summary=summary,
            external_id=f"sim-{self.seed}-{step.key}",
            customer_name=step.person.name,
        )

    # -- replies --------------------------------------------------------------

    async def send(self, outbound: Outbound) -> Delivery:
        if not self.capabilities.outbound:
            raise PermanentDeliveryError(f"a simulated {self.kind} channel cannot send messages")
        if not self._running:
            raise ChannelConnectionError("the simulator is not running")
        if not outbound.to.strip():
            raise PermanentDeliveryError("the reply has no recipient address")
        limit = self.capabilities.max_text_length
        if limit is not None and len(outbound.text) > limit:
            raise PermanentDeliveryError(
                f"the text has {len(outbound.text)} characters; {self.kind} takes at most {limit}"
            )
        known = self._delivered.get(outbound.key)
        if known is not None:
            return Delivery(external_id=known, state="delivered")
        digest = hashlib.sha256(outbound.key.encode()).hexdigest()[:16]
        external_id = f"sim-out-{self.seed}-{digest}"
        self._delivered[outbound.key] = external_id
        self.deliveries[outbound.key] += 1
        while len(self._delivered) > _REMEMBERED_KEYS:
            self._delivered.pop(next(iter(self._delivered)))
        await self.context.state.set("delivered", self._delivered)
        answers = self._answers_to(outbound, external_id)
        if answers:
            self._spawn(self._answer_later(answers), "answer")
        return Delivery(external_id=external_id, state="delivered")

    def _survey_answers(
        self, outbound: Outbound, chance: random.Random, language: str, external_id: str
    ) -> list[Inbound]:
        """Most customers answer a survey: by the rating an inline channel
        shows, else by replying with a number (and a word or two)."""
        answers: list[Inbound] = []
        for question in outbound.survey:
            if chance.random() >= self.survey_answers:
                continue
            scores = range(question.high, question.low - 1, -1)  # the best first
            weights = [max(1, 45 - 12 * i) for i in range(len(scores))]
            score = chance.choices(scores, weights)[0]
            comment = chance.choice(scripts.SURVEY_COMMENTS[language])
            if self.capabilities.survey_form == "inline":
                answers.append(
                    InboundSurvey(
                        identity=outbound.to,
                        metric=question.metric,
                        score=score,
                        comment=comment,
                        task_number=outbound.task_number,
                        external_id=f"sim-answer-{external_id}-{question.metric}",
                    )
                )
            else:
                text = f"{score} {comment}".strip()
                answers.append(self._reply(outbound, text, external_id))
        return answers

    def _answers_to(self, outbound: Outbound, external_id: str) -> list[Inbound]:
        """What the customer sends back: an answer, a survey, or nothing."""
        chance = random.Random(f"answer:{self.seed}:{outbound.key}")
        person = self.world.person_for(outbound.to)
        language = person.language if person else "en"
        if outbound.survey:
            return self._survey_answers(outbound, chance, language, external_id)
        if chance.random() < 0.2:
            return []  # some customers never answer
        return [self._reply(outbound, chance.choice(scripts.ANSWERS[language]), external_id)]

    def _reply(self, outbound: Outbound, text: str, external_id: str) -> InboundMessage:
        """The customer's answer to ``outbound`` (sent as ``external_id``)."""
        email = self.kind == "email"
        return InboundMessage(
            identity=outbound.to,
            text=text,
            external_id=f"sim-answer-{external_id}",
            customer_name=outbound.customer_name,
            subject=f"Re: {outbound.subject}" if email and outbound.subject else "",
            thread_ref=external_id if email else outbound.thread_ref,
            task_number=outbound.task_number if email else None,
        )

    async def call_back(self, to: str, *, agent: str, key: str) -> str:
        """A simulated call: the customer picks up three times in four, and
        the call's record comes ``reply_delay`` seconds later."""
        if not self._running:
            raise ChannelConnectionError("the simulator is not running")
        if key in self._called:
            return f"already calling {to}"
        self._called.add(key)
        chance = random.Random(f"call:{self.seed}:{key}")
        person = self.world.person_for(to)
        answered = chance.random() < 0.75
        call = InboundCall(
            identity=to,
            direction="outbound",
            duration_seconds=round(chance.uniform(60, 600)) if answered else 0,
            outcome="answered" if answered else "missed",
            summary=f"Called back by {agent}" + ("" if answered else ": no answer"),
            external_id=f"sim-call-{self.seed}-{hashlib.sha256(key.encode()).hexdigest()[:16]}",
            customer_name=person.name if person else "",
        )
        self._spawn(self._answer_later([call]), "call back")
        return f"your phone rings first (simulated), then {to}"

    async def _answer_later(self, answers: list[Inbound]) -> None:
        await asyncio.sleep(self.reply_delay)
        for item in answers:
            await self.context.emit(item)
