"""The channel contract: what every channel plugin must do, checked by running it.

``run_contract`` runs each check against a fresh instance with a
``RecordingContext`` and returns a report; it needs no test framework, so
``agentdesk plugins check NAME`` uses it directly. ``ChannelContract`` in
``agentdesk.plugin.testing`` wraps the same checks as pytest tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .channel import Channel
from .errors import DeliveryError, PermanentDeliveryError, PluginError
from .http_defaults import shared_ssl_context
from .options import parse_options
from .recording import RecordingContext, serve
from .types import (
    Capabilities,
    Delivery,
    HandoffContext,
    Health,
    Outbound,
)
from .validation import declaration_problems, inbound_problems

#: Where the kit sends test replies when the author names no address.
DEFAULT_ADDRESSES = {
    "email": "contract-check@example.com",
    "phone": "+15555550100",
    "chat": "contract-check-session",
    "social": "contract_check",
}

Hook = Callable[[Channel, RecordingContext], Awaitable[Any]]


class ContractFailure(AssertionError):
    """A check found the channel breaking the contract."""


class ContractSkip(Exception):
    """A check does not apply to this channel (say, sending on a one-way channel)."""


@dataclass(slots=True)
class ContractSubject:
    """The channel under check and how to exercise it."""

    channel_class: type[Channel]
    options: Mapping[str, Any] = field(default_factory=dict)
    channel_name: str = "contract"
    #: Whether the send checks run (they really send to ``send_address``).
    send_enabled: bool = True
    #: Returns the address replies go to; None uses ``DEFAULT_ADDRESSES``.
    send_address: Hook | None = None
    #: Makes the channel receive something; without it the kit just waits.
    trigger_inbound: Hook | None = None
    #: ``(channel, ctx, outbound) -> int | None``: how many times the customer got it.
    count_deliveries: (
        Callable[[Channel, RecordingContext, Outbound], Awaitable[int | None]] | None
    ) = None
    inbound_timeout: float = 5.0
    #: Longest a start, send or stop may take, in seconds.
    step_timeout: float = 10.0
    #: Longest the event loop may be kept from running, in seconds.
    max_loop_lag: float = 0.1


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    title: str
    outcome: str  # "passed", "failed", "skipped"
    detail: str = ""
    seconds: float = 0.0


@dataclass(slots=True)
class ContractReport:
    plugin: str
    results: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(result.outcome != "failed" for result in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        return [result for result in self.results if result.outcome == "failed"]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    title: str
    run: Callable[[ContractSubject], Coroutine[Any, Any, None]]


# -- running a channel under watch ----------------------------------------


class LoopLagMonitor:
    """Measures how late a ticker task wakes: the longest the loop was blocked."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.max_lag = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.interval)
            self.max_lag = max(self.max_lag, loop.time() - before - self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._tick(), name="loop-lag-monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


@dataclass(slots=True)
class Session:
    """One channel instance, its context and a loop-lag monitor."""

    subject: ContractSubject
    ctx: RecordingContext
    channel: Channel
    lag: LoopLagMonitor
    started: bool = False

    async def step(self, what: str, awaitable: Awaitable[Any]) -> Any:
        """Await a channel call with the step time limit."""
        try:
            return await asyncio.wait_for(awaitable, self.subject.step_timeout)
        except TimeoutError:
            raise ContractFailure(
                f"{what} did not return within {self.subject.step_timeout:g} s"
            ) from None

    async def start(self) -> None:
        await self.step("start()", self.channel.start())
        self.started = True

    async def stop(self) -> None:
        await self.step("stop()", self.channel.stop())
        self.started = False

    async def address(self) -> str:
        if not self.subject.send_enabled:
            raise ContractSkip("sending is not checked (no address to send to was given)")
        if self.subject.send_address is not None:
            address = await self.subject.send_address(self.channel, self.ctx)
            if address:
                return address
        kind = self.channel.capabilities.identity_kind
        return DEFAULT_ADDRESSES.get(kind, "contract-check")

    def outbound(self, to: str, text: str = "Contract check: hello") -> Outbound:
        return Outbound(
            key=f"contract-{uuid.uuid4().hex}",
            to=to,
            text=text,
            task_id="contract-task",
            task_number=1,
            customer_name="Contract Check",
            subject="Contract check",
        )


@contextlib.asynccontextmanager
async def session(subject: ContractSubject) -> AsyncIterator[Session]:
    """A fresh instance, served over HTTP when it needs it, stopped on exit."""
    cls = subject.channel_class
    ctx = RecordingContext.for_channel(cls, subject.options, channel_name=subject.channel_name)
    lag = LoopLagMonitor()
    await asyncio.to_thread(shared_ssl_context)  # built once, and not on the loop
    try:
        channel = cls(ctx)
        current = Session(subject, ctx, channel, lag)
        lag.start()
        async with contextlib.AsyncExitStack() as stack:
            if cls.needs_http:
                await stack.enter_async_context(serve(ctx))
            try:
                yield current
            finally:
                if current.started:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(channel.stop(), subject.step_timeout)
        if ctx.crashes:
            crash = ctx.crashes[0]
            raise ContractFailure(f"a spawned task crashed: {type(crash).__name__}: {crash}")
    finally:
        await lag.stop()
        ctx.close()


def _fail(condition: bool, message: str) -> None:
    if not condition:
        raise ContractFailure(message)


# -- the checks -----------------------------------------------------------


async def check_declaration(subject: ContractSubject) -> None:
    problems = declaration_problems(subject.channel_class)
    _fail(not problems, "; ".join(problems))
    parse_options(subject.channel_class.options, dict(subject.options), where=subject.channel_name)


async def check_start_stop(subject: ContractSubject) -> None:
    async with session(subject) as s:
        await s.step("stop() before start()", s.channel.stop())
        _fail(
            isinstance(s.channel.capabilities, Capabilities), "capabilities is not a Capabilities"
        )
        await s.start()
        await s.step("a second start()", s.channel.start())
        health = s.channel.health()
        _fail(isinstance(health, Health), f"health() returned {health!r}, not a Health")
        await s.stop()
        await s.step("a second stop()", s.channel.stop())


async def check_inbound(subject: ContractSubject) -> None:
    async with session(subject) as s:
        if not s.channel.capabilities.inbound:
            raise ContractSkip("the channel declares no inbound")
        await s.start()
        if subject.trigger_inbound is not None:
            await subject.trigger_inbound(s.channel, s.ctx)
        try:
            await s.ctx.next_inbound(subject.inbound_timeout)
        except TimeoutError as exc:
            raise ContractFailure(f"{exc} (give the check a trigger_inbound hook)") from None
        problems = [p for item in s.ctx.emitted for p in inbound_problems(item)]
        _fail(not problems, "; ".join(problems[:5]))
        await s.stop()


async def check_send_idempotent(subject: ContractSubject) -> None:
    async with session(subject) as s:
        if not s.channel.capabilities.outbound:
            raise ContractSkip("the channel declares no outbound")
        await s.start()
        outbound = s.outbound(await s.address())
        first = await s.step("send()", s.channel.send(outbound))
        _fail(isinstance(first, Delivery), f"send() returned {first!r}, not a Delivery")
        second = await s.step("send() again with the same key", s.channel.send(outbound))
        _fail(isinstance(second, Delivery), f"the second send() returned {second!r}")
        if first.external_id is not None and second.external_id is not None:
            _fail(
                first.external_id == second.external_id,
                "the same key was sent twice as two messages "
                f"({first.external_id!r}, then {second.external_id!r})",
            )
        if subject.count_deliveries is not None:
            count = await subject.count_deliveries(s.channel, s.ctx, outbound)
            if count is not None:
                _fail(count == 1, f"the customer got the message {count} times, not once")
        await s.stop()


async def check_max_text_length(subject: ContractSubject) -> None:
    async with session(subject) as s:
        if not s.channel.capabilities.outbound:
            raise ContractSkip("the channel declares no outbound")
        await s.start()
        address = await s.address()
        limit = s.channel.capabilities.max_text_length
        if limit is None:
            delivery = await s.step(
                "send() of 20,000 characters", s.channel.send(s.outbound(address, "x" * 20_000))
            )
            _fail(
                isinstance(delivery, Delivery),
                "a long text was not delivered though no limit is declared",
            )
        else:
            fits = await s.step(
                f"send() of {limit} characters", s.channel.send(s.outbound(address, "x" * limit))
            )
            _fail(isinstance(fits, Delivery), f"a text of exactly {limit} characters was refused")
            try:
                await s.step(
                    "send() of a too-long text",
                    s.channel.send(s.outbound(address, "x" * (limit + 1))),
                )
            except PermanentDeliveryError:
                pass
            except Exception as exc:
                raise ContractFailure(
                    f"a text over max_text_length={limit} raised {type(exc).__name__}, "
                    "not PermanentDeliveryError"
                ) from None
            else:
                raise ContractFailure(f"a text over max_text_length={limit} was accepted")
        await s.stop()


async def check_typed_errors(subject: ContractSubject) -> None:
    async with session(subject) as s:
        if not s.channel.capabilities.outbound:
            raise ContractSkip("the channel declares no outbound")
        address = await s.address()
        try:
            await s.step("send() before start()", s.channel.send(s.outbound(address)))
        except PluginError:
            pass
        except ContractFailure:
            raise
        except Exception as exc:
            raise ContractFailure(
                f"send() before start() raised {type(exc).__name__}: {exc} "
                "(raise TemporaryDeliveryError or ChannelConnectionError)"
            ) from None
        await s.start()
        try:
            await s.step("send() to an empty address", s.channel.send(s.outbound("")))
        except DeliveryError as exc:
            _fail(not exc.temporary, "an empty address was reported as a temporary failure")
        except ContractFailure:
            raise
        except Exception as exc:
            raise ContractFailure(
                f"send() to an empty address raised {type(exc).__name__}, "
                "not PermanentDeliveryError"
            ) from None
        else:
            raise ContractFailure("send() to an empty address was accepted")
        await s.stop()


async def check_handoff(subject: ContractSubject) -> None:
    async with session(subject) as s:
        await s.start()
        kind = s.channel.capabilities.identity_kind
        handoff = HandoffContext(
            task_id="contract-task",
            task_number=1,
            customer_name="Contract Check",
            to=DEFAULT_ADDRESSES.get(kind, "contract-check"),
            from_channel="elsewhere",
            context="We are following up here on your request #1.",
        )
        first = await s.step("handoff_in()", s.channel.handoff_in(handoff))
        if first is not None:
            _fail(isinstance(first, Outbound), f"handoff_in() returned {first!r}")
            _fail(bool(first.key), "the handoff message has no idempotency key")
            _fail(first.to == handoff.to, "the handoff message is not addressed to the customer")
        await s.stop()


async def check_no_blocking(subject: ContractSubject) -> None:
    async with session(subject) as s:
        await s.start()
        if s.channel.capabilities.outbound and subject.send_enabled:
            with contextlib.suppress(PluginError):
                await s.step("send()", s.channel.send(s.outbound(await s.address())))
        await asyncio.sleep(0.05)  # let background work run under the monitor
        await s.stop()
        _fail(
            s.lag.max_lag <= subject.max_loop_lag,
            f"the event loop was blocked for {s.lag.max_lag * 1000:.0f} ms "
            f"(limit {subject.max_loop_lag * 1000:.0f} ms): move blocking calls to a thread",
        )


async def check_clean_shutdown(subject: ContractSubject) -> None:
    before = asyncio.all_tasks()
    async with session(subject) as s:
        await s.start()
        if s.channel.capabilities.inbound and subject.trigger_inbound is not None:
            await subject.trigger_inbound(s.channel, s.ctx)
        await asyncio.sleep(0.05)
        await s.stop()
        left = s.ctx.running_tasks()
        _fail(not left, f"stop() left spawned tasks running: {_names(left)}")
    for _ in range(5):  # let cancelled tasks finish unwinding
        await asyncio.sleep(0)
    leaked = [
        t for t in asyncio.all_tasks() - before if t is not asyncio.current_task() and not t.done()
    ]
    _fail(not leaked, f"tasks still running after stop(): {_names(leaked)}")


def _names(tasks: Sequence[asyncio.Task[Any]]) -> str:
    return ", ".join(sorted(f"{t.get_name()} ({t.get_coro().__qualname__})" for t in tasks))


CHECKS: tuple[Check, ...] = (
    Check("declaration", "declares plugin, capabilities and valid options", check_declaration),
    Check("start_stop", "start and stop are idempotent and prompt", check_start_stop),
    Check("inbound", "emits well-formed inbound items", check_inbound),
    Check("send_idempotent", "send is idempotent by key", check_send_idempotent),
    Check("max_text_length", "enforces its declared max_text_length", check_max_text_length),
    Check("typed_errors", "reports failures with typed errors", check_typed_errors),
    Check("handoff", "handoff_in returns a well-formed message or None", check_handoff),
    Check("no_blocking", "never blocks the event loop", check_no_blocking),
    Check("clean_shutdown", "leaves no task running after stop", check_clean_shutdown),
)


async def run_check(check: Check, subject: ContractSubject) -> CheckResult:
    """Run one check; an unexpected exception is a failure, never a crash of the kit."""
    began = time.perf_counter()
    try:
        await check.run(subject)
    except ContractSkip as exc:
        outcome, detail = "skipped", str(exc)
    except ContractFailure as exc:
        outcome, detail = "failed", str(exc)
    except Exception as exc:
        outcome, detail = "failed", f"{type(exc).__name__}: {exc}"
    else:
        outcome, detail = "passed", ""
    return CheckResult(check.name, check.title, outcome, detail, time.perf_counter() - began)


async def run_contract(
    subject: ContractSubject, only: Sequence[str] | None = None
) -> ContractReport:
    """Run every check (or those named in ``only``) and return the report."""
    report = ContractReport(plugin=subject.channel_class.plugin or subject.channel_class.__name__)
    declaration = await run_check(CHECKS[0], subject)
    report.results.append(declaration)
    for check in CHECKS[1:]:
        if only is not None and check.name not in only:
            continue
        if declaration.outcome == "failed":
            report.results.append(
                CheckResult(check.name, check.title, "skipped", "declaration is invalid")
            )
            continue
        report.results.append(await run_check(check, subject))
    return report
