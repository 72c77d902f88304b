"""The enricher contract: what every CRM look-up plugin must do, checked by running it.

``run_enricher_contract`` runs each check against a fresh instance with its
own ``RecordingContext`` and returns a ``ContractReport``, as the channel
contract does. The subject names one identity the CRM knows and one it does
not; the outage checks need nothing more, since the kit itself cuts the
network of the clients ``context.http_client()`` makes (refused, silent,
answering 503). An enricher that reaches its CRM some other way gives an
``outage`` hook instead, or those checks are skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from .channel import Enricher
from .contract import CheckResult, ContractReport
from .contract_session import ContractFailure, ContractSkip, LoopLagMonitor, require
from .errors import LookupUnavailable
from .http_defaults import shared_ssl_context
from .options import Option, OptionKind, parse_options
from .recording import RecordingContext

__all__ = [
    "ENRICHER_CHECKS",
    "EnricherCheck",
    "EnricherSubject",
    "run_enricher_check",
    "run_enricher_contract",
]

#: An identity kind no enricher knows, for the check that it is declined.
FOREIGN_KIND = "contract-check-kind"
#: Field names agents type in filters (``company:acme``) and routing rules read.
FIELD_NAME = re.compile(r"[a-z][a-z0-9_]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: Secrets shorter than this are not searched for: they would match by chance.
MIN_SECRET = 4
#: The longest message the agent reads after "CRM unavailable".
MAX_MESSAGE = 200

Hook = Callable[[Enricher, RecordingContext], Awaitable[Any]]


@dataclass(slots=True)
class EnricherSubject:
    """The enricher under check and the identities to look up."""

    enricher_class: type[Enricher]
    #: ``(kind, value)`` the CRM knows: its look-up must return fields.
    known: tuple[str, str]
    #: ``(kind, value)`` the CRM does not know: its look-up must return None.
    unknown: tuple[str, str]
    options: Mapping[str, Any] = field(default_factory=dict)
    name: str = "contract"
    #: Longest a look-up may take, in seconds, outages included.
    lookup_timeout: float = 10.0
    #: Longest the event loop may be kept from running, in seconds.
    max_loop_lag: float = 0.1
    #: Values never to appear in fields, errors or logs, besides the secret options'.
    secrets: tuple[str, ...] = ()
    #: Makes the CRM unreachable for the instance (the kit then checks the
    #: look-up raises LookupUnavailable); None: the kit refuses the connections
    #: of ``context.http_client()`` itself.
    outage: Hook | None = None


@dataclass(frozen=True, slots=True)
class EnricherCheck:
    name: str
    title: str
    run: Callable[[EnricherSubject], Coroutine[Any, Any, None]]


# -- one instance under watch ------------------------------------------------------


class _LogCapture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(record.getMessage())
        except Exception:  # a bad format string is the plugin's bug, not a leak
            self.lines.append(str(record.msg))


class _CutContext(RecordingContext):
    """A context whose HTTP clients reach nothing real: each request goes to
    ``handler``, as a broken network or server would answer it."""

    def __init__(self, *args: Any, handler: Callable[[httpx.Request], Any], **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.requests = 0
        self._handler = handler

    def http_client(self, **kwargs: Any) -> httpx.AsyncClient:
        async def answer(request: httpx.Request) -> httpx.Response:
            self.requests += 1
            result = self._handler(request)
            if inspect.isawaitable(result):
                result = await result
            assert isinstance(result, httpx.Response)
            return result

        kwargs["transport"] = httpx.MockTransport(answer)
        return super().http_client(**kwargs)


@dataclass(slots=True)
class _Instance:
    subject: EnricherSubject
    ctx: RecordingContext
    enricher: Enricher
    logs: _LogCapture
    secrets: tuple[str, ...]

    async def lookup(self, kind: str, value: str) -> Any:
        """The look-up's result, within the subject's time limit."""
        limit = self.subject.lookup_timeout
        began = time.perf_counter()
        try:
            return await asyncio.wait_for(self.enricher.lookup(kind, value), limit)
        except TimeoutError:
            raise ContractFailure(
                f"lookup({kind!r}, ...) did not return within {limit:g} s "
                f"(gave up after {time.perf_counter() - began:.1f} s)"
            ) from None

    def leaked(self, text: str) -> str | None:
        """Which secret ``text`` holds, shown by its first characters; None when none."""
        for secret in self.secrets:
            if secret in text:
                return secret[:2] + "…"
        return None


def _secrets(subject: EnricherSubject, options: Mapping[str, Any]) -> tuple[str, ...]:
    declared: Sequence[Option] = subject.enricher_class.options
    found = [
        str(options[o.name])
        for o in declared
        if o.kind == OptionKind.SECRET and options.get(o.name) not in (None, "")
    ]
    return tuple(s for s in (*found, *subject.secrets) if len(s) >= MIN_SECRET)


@contextlib.asynccontextmanager
async def _instance(
    subject: EnricherSubject, handler: Callable[[httpx.Request], Any] | None = None
) -> AsyncIterator[_Instance]:
    """A fresh instance (on a cut network when ``handler`` is given); on exit,
    a secret in its log fails the check."""
    cls = subject.enricher_class
    options = parse_options(cls.options, dict(subject.options), where=subject.name)
    logger = logging.getLogger(f"agentdesk.enricher.{subject.name}.{uuid.uuid4().hex[:8]}")
    logger.setLevel(logging.DEBUG)
    capture = _LogCapture()
    logger.addHandler(capture)
    ctx: RecordingContext = (
        RecordingContext(subject.name, options, logger=logger)
        if handler is None
        else _CutContext(subject.name, options, logger=logger, handler=handler)
    )
    await asyncio.to_thread(shared_ssl_context)  # built once, and not on the loop
    try:
        instance = _Instance(subject, ctx, cls(ctx), capture, _secrets(subject, options))
        yield instance
        for line in capture.lines:
            shown = instance.leaked(line)
            require(shown is None, f"a secret ({shown}) was logged: keep it out of log lines")
    finally:
        logger.removeHandler(capture)
        ctx.close()


def _check_fields(instance: _Instance, fields: Any, what: str) -> None:
    require(isinstance(fields, dict), f"{what} returned {type(fields).__name__}, not a dict")
    require(bool(fields), f"{what} returned an empty dict: return None for an unknown customer")
    for key, value in fields.items():
        require(
            isinstance(key, str) and FIELD_NAME.fullmatch(key) is not None,
            f"field name {key!r} is not lower case letters, digits and underscores",
        )
        require(
            isinstance(value, str),
            f"field {key!r} is a {type(value).__name__}, not a str: turn CRM values into text",
        )
        require(
            _CONTROL.search(value) is None, f"field {key!r} holds control characters: {value!r}"
        )
        shown = instance.leaked(value)
        require(shown is None, f"field {key!r} holds a secret ({shown})")


async def _expect_unavailable(instance: _Instance, what: str) -> None:
    """The known identity's look-up must raise LookupUnavailable, worded for the agent."""
    try:
        result = await instance.lookup(*instance.subject.known)
    except LookupUnavailable as exc:
        message = str(exc)
        require(bool(message.strip()), f"{what}: LookupUnavailable has no message")
        require(
            len(message) <= MAX_MESSAGE,
            f"{what}: the message is {len(message)} characters; say it in a few words",
        )
        shown = instance.leaked(message)
        require(shown is None, f"{what}: the message holds a secret ({shown})")
        return
    except ContractFailure:
        raise
    except Exception as exc:
        raise ContractFailure(
            f"{what}: lookup() raised {type(exc).__name__}, not LookupUnavailable"
        ) from None
    if isinstance(instance.ctx, _CutContext) and instance.ctx.requests == 0:
        raise ContractSkip(
            "the enricher made no request through context.http_client(): "
            "give the subject an outage hook to check outages"
        )
    raise ContractFailure(
        f"{what}: lookup() returned {type(result).__name__} instead of raising "
        "LookupUnavailable (None would tell the desk the CRM forgot the customer)"
    )


# -- the checks ---------------------------------------------------------------------


async def check_declaration(subject: EnricherSubject) -> None:
    cls = subject.enricher_class
    require(
        isinstance(cls, type) and issubclass(cls, Enricher),
        f"{cls!r} is not a subclass of agentdesk.plugin.Enricher",
    )
    require(
        isinstance(cls.plugin, str) and bool(cls.plugin.strip()),
        "the class does not set `plugin` (the name written in config)",
    )
    options = cls.options
    require(
        isinstance(options, (tuple, list)) and all(isinstance(o, Option) for o in options),
        "`options` must be a tuple of Option(...)",
    )
    names = [o.name for o in options]
    twice = sorted({n for n in names if names.count(n) > 1})
    require(not twice, f"options declared twice: {', '.join(twice)}")
    require(inspect.iscoroutinefunction(cls.lookup), "`lookup` must be an async method")
    parse_options(options, dict(subject.options), where=subject.name)


async def check_known(subject: EnricherSubject) -> None:
    async with _instance(subject) as instance:
        fields = await instance.lookup(*subject.known)
        _check_fields(instance, fields, f"lookup{subject.known!r}")


async def check_unknown(subject: EnricherSubject) -> None:
    async with _instance(subject) as instance:
        result = await instance.lookup(*subject.unknown)
        require(
            result is None,
            f"an identity the CRM does not know gave {result!r}, not None",
        )


async def check_foreign_kind(subject: EnricherSubject) -> None:
    async with _instance(subject) as instance:
        result = await instance.lookup(FOREIGN_KIND, "contract-check-value")
        require(
            result is None,
            f"an identity kind the enricher does not know gave {result!r}, not None",
        )


async def check_unreachable(subject: EnricherSubject) -> None:
    if subject.outage is not None:
        async with _instance(subject) as instance:
            await subject.outage(instance.enricher, instance.ctx)
            await _expect_unavailable(instance, "with the CRM unreachable")
        return

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with _instance(subject, refuse) as instance:
        await _expect_unavailable(instance, "with the CRM unreachable")


async def check_silent(subject: EnricherSubject) -> None:
    async def never(request: httpx.Request) -> httpx.Response:
        # A server that takes the request and never answers: the client's own
        # read timeout is what ends the wait, as on a real network.
        limits = request.extensions.get("timeout") or {}
        read = limits.get("read")
        await asyncio.sleep(subject.lookup_timeout * 2 if read is None else read)
        raise httpx.ReadTimeout("timed out", request=request)

    async with _instance(subject, never) as instance:
        await _expect_unavailable(instance, "with a CRM that never answers")


async def check_server_error(subject: EnricherSubject) -> None:
    def failing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"error": "service unavailable"}, request=request)

    async with _instance(subject, failing) as instance:
        await _expect_unavailable(instance, "with a CRM answering 503")


async def check_no_blocking(subject: EnricherSubject) -> None:
    async with _instance(subject) as instance:
        await instance.lookup(*subject.unknown)  # warm caches, as the desk's first look-up does
        lag = LoopLagMonitor()
        lag.start()
        try:
            await instance.lookup(*subject.known)
            await instance.lookup(*subject.unknown)
        finally:
            await lag.stop()
        require(
            lag.max_lag <= subject.max_loop_lag,
            f"the event loop was blocked for {lag.max_lag * 1000:.0f} ms "
            f"(limit {subject.max_loop_lag * 1000:.0f} ms): move blocking calls to a thread",
        )


ENRICHER_CHECKS: tuple[EnricherCheck, ...] = (
    EnricherCheck(
        "declaration", "declares plugin, valid options and an async lookup", check_declaration
    ),
    EnricherCheck(
        "known", "gives text fields with lower-case names for a known customer", check_known
    ),
    EnricherCheck("unknown", "gives None for a customer the CRM does not know", check_unknown),
    EnricherCheck(
        "foreign_kind", "gives None for an identity kind it does not know", check_foreign_kind
    ),
    EnricherCheck(
        "unreachable", "raises LookupUnavailable when the CRM is unreachable", check_unreachable
    ),
    EnricherCheck(
        "silent", "raises LookupUnavailable in time when the CRM is silent", check_silent
    ),
    EnricherCheck(
        "server_error", "raises LookupUnavailable when the CRM answers 503", check_server_error
    ),
    EnricherCheck("no_blocking", "never blocks the event loop", check_no_blocking),
)


async def run_enricher_check(check: EnricherCheck, subject: EnricherSubject) -> CheckResult:
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


async def run_enricher_contract(
    subject: EnricherSubject, only: Sequence[str] | None = None
) -> ContractReport:
    """Run every check (or those named in ``only``) and return the report."""
    cls = subject.enricher_class
    report = ContractReport(plugin=getattr(cls, "plugin", "") or getattr(cls, "__name__", "?"))
    declaration = await run_enricher_check(ENRICHER_CHECKS[0], subject)
    report.results.append(declaration)
    for check in ENRICHER_CHECKS[1:]:
        if only is not None and check.name not in only:
            continue
        if declaration.outcome == "failed":
            report.results.append(
                CheckResult(check.name, check.title, "skipped", "declaration is invalid")
            )
            continue
        report.results.append(await run_enricher_check(check, subject))
    return report
