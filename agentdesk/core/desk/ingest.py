"""Turning an inbound item from a channel into a batch: who, which task, what event.

Pure decisions over the store's current state; the desk commits the result.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agentdesk.core.survey_config import SurveyConfig
from agentdesk.domain import (
    Attachment,
    CallRecord,
    Customer,
    DeliveryState,
    Direction,
    Event,
    Identity,
    IdFactory,
    Message,
    Status,
    StatusChange,
    SurveyAnswer,
    Task,
)
from agentdesk.domain.evolve import evolve
from agentdesk.domain.identity_kinds import IdentityKinds
from agentdesk.domain.text import clean_text, one_line
from agentdesk.plugin import Capabilities, InboundCall, InboundMessage, InboundSurvey
from agentdesk.plugin.validation import SURVEY_RANGES
from agentdesk.store import Batch, Store
from agentdesk.store.protocol import inbound_key

from . import surveys

log = logging.getLogger("agentdesk.desk")

MAX_NAME = 200
MAX_SUBJECT = 500
MAX_IDENTITY = 320
# What a channel may tell about a customer with one message (InboundMessage.attributes).
MAX_ATTRIBUTES = 20
MAX_ATTRIBUTE_NAME = 40
MAX_ATTRIBUTE_VALUE = 300


class InboundRejected(ValueError):
    """An inbound item the desk will not store; the message says why."""


@dataclass(slots=True)
class IngestResult:
    task: Task
    event: Event
    customer: Customer
    created_task: bool = False
    duplicate: bool = False


@dataclass(slots=True)
class IngestRules:
    reopen_window: float = 7 * 86400.0
    max_text: int = 200_000
    default_priority: str = "normal"
    #: What a reply with a number may answer (a survey sent by text).
    surveys: SurveyConfig = field(default_factory=SurveyConfig)


class Ingestor:
    """Builds the batch for one inbound item. Holds no state of its own."""

    def __init__(
        self,
        store: Store,
        ids: IdFactory,
        rules: IngestRules,
        *,
        kinds: Callable[[], IdentityKinds] = IdentityKinds,
    ) -> None:
        self.store = store
        self.ids = ids
        self.rules = rules
        # The desk's kinds as they are now: channels declare theirs as they load.
        self.kinds = kinds

    # --- the entry point ------------------------------------------------------

    def plan(
        self, channel: str, caps: Capabilities, item: Any, now: float
    ) -> tuple[Batch, IngestResult]:
        if isinstance(item, InboundMessage):
            return self._message(channel, caps, item, now)
        if isinstance(item, InboundCall):
            return self._call(channel, caps, item, now)
        if isinstance(item, InboundSurvey):
            return self._survey(channel, caps, item, now)
        raise InboundRejected(f"unknown inbound item {type(item).__name__}")

    # --- checks shared by every kind -----------------------------------------

    def _identity(self, caps: Capabilities, raw: Any) -> Identity:
        cleaned = clean_text(raw) if isinstance(raw, str) else ""
        if not cleaned.strip():
            raise InboundRejected("the item has no sender identity")
        return self.kinds().identity(caps.identity_kind, one_line(cleaned, MAX_IDENTITY))

    def _duplicate(self, channel: str, external_id: str | None) -> Event | None:
        if not external_id:
            return None
        found = self.store.message_by_external_id(channel, external_id)
        # Only what the channel delivered: our own reply may carry any id.
        return found if found is not None and inbound_key(found) == external_id else None

    def _customer(
        self,
        batch: Batch,
        identity: Identity,
        name: str,
        now: float,
        others: list[Identity] | None = None,
    ) -> tuple[Customer, bool]:
        found = self.store.customer_by_identity(identity)
        name = one_line(clean_text(name or ""), MAX_NAME)
        if found is None:
            # A new address that comes with one we know (a chat visitor giving
            # their email) belongs to that customer: one person, one history.
            found = self._known_by_other(others or [])
            if found is not None:
                found = evolve(found, identities=[*found.identities, identity])
                batch.customers.append(found)
        if found is not None:
            if name and not found.name:
                found = evolve(found, name=name)
                _put_customer(batch, found)
            return found, False
        customer = Customer(id=self.ids.new(), name=name, identities=[identity], created_at=now)
        batch.customers.append(customer)
        return customer, True

    def _other_identities(self, others: Any) -> list[Identity]:
        """The well-formed identities among those a channel learnt with an item."""
        found: list[Identity] = []
        for kind, value in others[:10]:
            if isinstance(kind, str) and isinstance(value, str) and value.strip():
                value = one_line(clean_text(value), MAX_IDENTITY)
                found.append(self.kinds().identity(kind, value))
        return found

    def _known_by_other(self, others: list[Identity]) -> Customer | None:
        for identity in others:
            owner = self.store.customer_by_identity(identity)
            if owner is not None:
                return owner
        return None

    def _link_identities(
        self, batch: Batch, customer: Customer, others: list[Identity]
    ) -> Customer:
        """Add identities learnt with a message when nobody else owns them."""
        added = []
        for identity in others:
            if identity in customer.identities or identity in added:
                continue
            owner = self.store.customer_by_identity(identity)
            if owner is not None and owner.id != customer.id:
                log.info("identity %s already belongs to customer %s", identity, owner.id)
                continue
            added.append(identity)
        if not added:
            return customer
        updated = evolve(customer, identities=[*customer.identities, *added])
        _put_customer(batch, updated)
        return updated

    def _with_attributes(self, batch: Batch, customer: Customer, attributes: Any) -> Customer:
        """What the channel learnt about the customer with the message (a locale,
        the page a visitor wrote from): kept on the customer, each key's latest value."""
        if not isinstance(attributes, dict):
            return customer
        learnt: dict[str, str] = {}
        for key, value in list(attributes.items())[:MAX_ATTRIBUTES]:
            if isinstance(key, str) and isinstance(value, str):
                name = one_line(clean_text(key), MAX_ATTRIBUTE_NAME)
                if name:
                    learnt[name] = one_line(clean_text(value), MAX_ATTRIBUTE_VALUE)
        merged = {**customer.attributes, **learnt}
        if merged == customer.attributes:
            return customer
        updated = evolve(customer, attributes=merged)
        _put_customer(batch, updated)
        return updated

    # --- threading -------------------------------------------------------------

    def _thread(
        self,
        channel: str,
        customer: Customer,
        new_customer: bool,
        thread_ref: str | None,
        task_number: int | None,
    ) -> tuple[Task | None, Customer | None, list[Task]]:
        """The task an inbound item belongs to, the customer to use instead
        when an explicit reference points at another customer's task, and the
        customer's tasks when they were read."""
        if thread_ref:
            earlier = self.store.message_by_external_id(channel, thread_ref)
            if earlier is not None:
                task = self.store.get_task(earlier.task_id)
                if task is not None:
                    if task.customer_id != customer.id:
                        return task, self.store.get_customer(task.customer_id), []
                    return task, None, []
        if task_number is not None and not new_customer:
            task = self.store.task_by_number(task_number)
            if task is not None and task.customer_id == customer.id:
                return task, None, []
        if new_customer:
            return None, None, []
        tasks = self.store.tasks_of_customer(customer.id)
        live = [t for t in tasks if t.status != Status.CLOSED and t.channel == channel]
        if live:
            return max(live, key=lambda t: t.updated_at), None, tasks
        return None, None, tasks

    def _recently_closed(self, tasks: list[Task], channel: str, now: float) -> Task | None:
        window = self.rules.reopen_window
        closed = [
            t
            for t in tasks
            if t.status == Status.CLOSED
            and t.channel == channel
            and t.closed_at is not None
            and now - t.closed_at <= window
        ]
        return max(closed, key=lambda t: t.closed_at or 0.0) if closed else None

    def _new_task(
        self,
        customer: Customer,
        channel: str,
        caps: Capabilities,
        subject: str,
        now: float,
    ) -> Task:
        # The store gives the number when it commits the task.
        return Task(
            id=self.ids.new(),
            customer_id=customer.id,
            customer_name=customer.display_name,
            channel=channel,
            channel_kind=caps.kind,
            subject=subject,
            priority=self.rules.default_priority,  # type: ignore[arg-type]
            created_at=now,
            updated_at=now,
        )

    def _open_task(
        self,
        batch: Batch,
        customer: Customer,
        new_customer: bool,
        channel: str,
        caps: Capabilities,
        subject: str,
        now: float,
        thread_ref: str | None = None,
        task_number: int | None = None,
    ) -> tuple[Task, Customer, bool]:
        """Find or create the task, reopening it when the customer writes again."""
        task, owner, tasks = self._thread(channel, customer, new_customer, thread_ref, task_number)
        if owner is not None:
            customer = owner
        if task is None and not new_customer:
            task = self._recently_closed(tasks, channel, now)
        if task is None:
            return self._new_task(customer, channel, caps, subject, now), customer, True
        if task.status != Status.OPEN:
            old = task.status
            task = evolve(task, status=Status.OPEN, closed_at=None, pending_until=None)
            batch.events.append(
                StatusChange(
                    id=self.ids.new(),
                    task_id=task.id,
                    customer_id=task.customer_id,
                    at=now,
                    actor="customer",
                    old=old,
                    new=Status.OPEN,
                )
            )
        return task, customer, False

    # --- the three kinds -------------------------------------------------------

    def _message(
        self, channel: str, caps: Capabilities, item: InboundMessage, now: float
    ) -> tuple[Batch, IngestResult]:
        identity = self._identity(caps, item.identity)
        if not isinstance(item.text, str):
            raise InboundRejected("the message text is not text")
        text = clean_text(item.text, self.rules.max_text)
        html = item.html if isinstance(item.html, str) else None
        if html is not None:
            html = clean_text(html, self.rules.max_text)
        if not text.strip() and not html and not item.attachments:
            raise InboundRejected("the message is empty")
        duplicate = self._duplicate(channel, item.external_id)
        if duplicate is not None:
            return Batch(), self.duplicate_result(duplicate)
        batch = Batch()
        others = self._other_identities(item.other_identities) if item.other_identities else []
        customer, is_new = self._customer(batch, identity, item.customer_name, now, others)
        if not is_new and not item.attachments and self.rules.surveys.enabled:
            found = surveys.text_answer(
                self.store, self.rules.surveys, customer.id, channel, text, now
            )
            if found is not None:  # a number that answers the survey: not a new message
                return self._answer(batch, channel, customer, item, found, now)
        if others:
            customer = self._link_identities(batch, customer, others)
        if item.attributes:
            customer = self._with_attributes(batch, customer, item.attributes)
        subject = one_line(clean_text(item.subject or ""), MAX_SUBJECT)
        # Folding the preview's start gives the same as folding the text's.
        preview = one_line(text, 200)
        # The customer has waited since they wrote, not since we fetched it.
        at = _plausible_time(item.at, now)
        task, customer, created = self._open_task(
            batch,
            customer,
            is_new,
            channel,
            caps,
            subject or one_line(preview, 80) or "(no text)",
            at,
            thread_ref=item.thread_ref,
            task_number=item.task_number,
        )
        message = Message(
            id=self.ids.new(),
            task_id=task.id,
            customer_id=customer.id,
            at=at,
            actor="customer",
            direction=Direction.INBOUND,
            channel=channel,
            channel_kind=caps.kind,
            text=text,
            html=html,
            subject=subject,
            external_id=_bounded(item.external_id),
            thread_ref=_bounded(item.thread_ref),
            identity=str(identity),
            attachments=[
                Attachment(one_line(clean_text(a.name), 255), a.content_type, a.size, a.path)
                for a in item.attachments[:100]
            ],
            delivery=DeliveryState.RECEIVED,
        )
        task = evolve(
            task,
            customer_name=customer.display_name,
            updated_at=max(task.updated_at, at),
            last_inbound_at=max(task.last_inbound_at or at, at),
            waiting_since=task.waiting_since or at,
            unread=True,
            preview=preview,
        )
        batch.tasks.append(task)
        batch.events.append(message)
        return batch, IngestResult(task, message, customer, created_task=created)

    def _call(
        self, channel: str, caps: Capabilities, item: InboundCall, now: float
    ) -> tuple[Batch, IngestResult]:
        identity = self._identity(caps, item.identity)
        duplicate = self._duplicate(channel, item.external_id)
        if duplicate is not None:
            return Batch(), self.duplicate_result(duplicate)
        batch = Batch()
        customer, is_new = self._customer(batch, identity, item.customer_name, now)
        summary = clean_text(item.summary or "", self.rules.max_text)
        outcome = one_line(clean_text(item.outcome or "answered"), 40)
        direction = Direction.OUTBOUND if item.direction == "outbound" else Direction.INBOUND
        subject = f"Call from {customer.display_name}" if not summary else one_line(summary, 80)
        task, customer, created = self._open_task(
            batch, customer, is_new, channel, caps, subject, now
        )
        record = CallRecord(
            id=self.ids.new(),
            task_id=task.id,
            customer_id=customer.id,
            at=_plausible_time(item.at, now),
            actor="customer" if direction == Direction.INBOUND else "agent",
            direction=direction,
            channel=channel,
            channel_kind=caps.kind,
            external_id=_bounded(item.external_id),
            duration_seconds=max(0.0, float(item.duration_seconds or 0)),
            outcome=outcome,
            summary=summary,
        )
        # A missed call or a voicemail waits for us; a conversation that took
        # place did not leave the customer waiting.
        waiting = outcome in ("missed", "voicemail") and direction == Direction.INBOUND
        task = evolve(
            task,
            customer_name=customer.display_name,
            updated_at=now,
            last_inbound_at=now if direction == Direction.INBOUND else task.last_inbound_at,
            waiting_since=(task.waiting_since or now) if waiting else task.waiting_since,
            unread=True,
            preview=one_line(f"☎ {outcome} call, {int(record.duration_seconds)}s {summary}", 200),
        )
        batch.tasks.append(task)
        batch.events.append(record)
        return batch, IngestResult(task, record, customer, created_task=created)

    def _survey(
        self, channel: str, caps: Capabilities, item: InboundSurvey, now: float
    ) -> tuple[Batch, IngestResult]:
        identity = self._identity(caps, item.identity)
        metric = str(item.metric).lower()
        limits = SURVEY_RANGES
        if metric not in limits:
            raise InboundRejected(f"unknown survey metric {item.metric!r} (csat, nps or ces)")
        low, high = limits[metric]
        if isinstance(item.score, bool) or not isinstance(item.score, int):
            raise InboundRejected("the survey score is not a whole number")
        if not low <= item.score <= high:
            raise InboundRejected(f"{metric} score {item.score} is outside {low}-{high}")
        duplicate = self._duplicate(channel, item.external_id)
        if duplicate is not None:
            return Batch(), self.duplicate_result(duplicate)
        customer = self.store.customer_by_identity(identity)
        if customer is None:
            raise InboundRejected(f"survey answer from unknown customer {identity}")
        task = None
        if item.task_number is not None:
            task = self.store.task_by_number(item.task_number)
            if task is not None and task.customer_id != customer.id:
                task = None
        if task is None:
            tasks = self.store.tasks_of_customer(customer.id)
            task = max(tasks, key=lambda t: t.updated_at) if tasks else None
        if task is None:
            raise InboundRejected(f"survey answer from {identity}, who has no task")
        batch = Batch()
        agent = surveys.answered(self.store, batch, task.id, metric, now) or task.assignee or ""
        answer = SurveyAnswer(
            id=self.ids.new(),
            task_id=task.id,
            customer_id=customer.id,
            at=_plausible_time(item.at, now),
            actor="customer",
            metric=metric,
            score=item.score,
            comment=clean_text(item.comment or "", 5000),
            channel=channel,
            agent=agent,
            external_id=_bounded(item.external_id),
        )
        batch.events.append(answer)
        return batch, IngestResult(task, answer, customer)

    def _answer(
        self,
        batch: Batch,
        channel: str,
        customer: Customer,
        item: InboundMessage,
        found: tuple[Task, str, int, str],
        now: float,
    ) -> tuple[Batch, IngestResult]:
        task, metric, score, comment = found
        answer = SurveyAnswer(
            id=self.ids.new(),
            task_id=task.id,
            customer_id=customer.id,
            at=_plausible_time(item.at, now),
            actor="customer",
            metric=metric,
            score=score,
            comment=comment,
            channel=channel,
            agent=surveys.answered(self.store, batch, task.id, metric, now),
            external_id=_bounded(item.external_id),
        )
        batch.events.append(answer)
        return batch, IngestResult(task, answer, customer)

    def duplicate_result(self, message: Event) -> IngestResult:
        task = self.store.get_task(message.task_id)
        customer = self.store.get_customer(message.customer_id)
        assert task is not None and customer is not None
        return IngestResult(task, message, customer, duplicate=True)


def _put_customer(batch: Batch, customer: Customer) -> None:
    batch.customers[:] = [c for c in batch.customers if c.id != customer.id]
    batch.customers.append(customer)


def _bounded(value: str | None, limit: int = 1000) -> str | None:
    if value is None:
        return None
    return clean_text(str(value), limit)


def _plausible_time(at: float | None, now: float) -> float:
    """The channel's timestamp when it is believable, else the time of receipt."""
    if (
        isinstance(at, (int, float))
        and not isinstance(at, bool)
        and now - 366 * 86400 < at <= now + 300
    ):
        return float(at)
    return now
