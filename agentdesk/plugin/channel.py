"""Base classes a plugin subclasses: ``Channel`` and ``Enricher``."""

from __future__ import annotations

from typing import ClassVar

from .context import PluginContext
from .identity import IdentityKind
from .options import Option
from .types import (
    Capabilities,
    Delivery,
    HandoffContext,
    Health,
    HealthState,
    Outbound,
    SampleWebhook,
)


class Channel:
    """A channel backend. Subclass it, declare ``plugin``, ``capabilities`` and
    ``options``, and implement ``start``, ``stop`` and (for two-way channels) ``send``.

    The desk creates one instance per ``[[channels]]`` table, passing a
    ``PluginContext`` whose ``options`` are already validated. The desk
    supervises each instance: an exception escaping ``start`` or a background
    task marks it degraded and it is restarted with backoff, so a channel may
    simply raise ``ChannelConnectionError`` when its server is unreachable.
    """

    #: The plugin's name, as written in config (``plugin = "email"``).
    plugin: ClassVar[str] = ""
    version: ClassVar[str] = "0"
    #: One line saying what the channel connects to.
    description: ClassVar[str] = ""
    #: What the channel can do. Declared on the class; an instance whose
    #: capabilities depend on its options (a gateway's length limit) may set
    #: its own in ``__init__``. The desk reads the instance's.
    capabilities: Capabilities
    options: ClassVar[tuple[Option, ...]] = ()
    #: Kinds of customer address this channel brings, beyond email, phone,
    #: chat and social (see ``IdentityKind``).
    identity_kinds: ClassVar[tuple[IdentityKind, ...]] = ()
    #: Whether the channel serves HTTP routes (the desk starts its server only if one does).
    needs_http: ClassVar[bool] = False
    #: For a webhook channel: a request its provider would send, which
    #: ``agentdesk plugins check`` posts once the channel started, expecting
    #: an emitted item. Read on the instance, so a property may build it from
    #: the options (a signed request); None: the check cannot trigger inbound.
    sample_webhook: SampleWebhook | None = None

    def __init__(self, context: PluginContext) -> None:
        self.context = context

    async def start(self) -> None:
        """Connect and begin delivering inbound items with ``context.emit``.

        Return once started; run long loops as tasks you keep and cancel in
        ``stop``. Calling ``start`` twice must not start twice.
        """

    async def stop(self) -> None:
        """Disconnect and cancel every task ``start`` made. Idempotent, prompt."""

    async def send(self, outbound: Outbound) -> Delivery:
        """Deliver a reply. Same ``outbound.key`` twice = one message to the customer.

        Raise ``TemporaryDeliveryError`` to be retried later,
        ``PermanentDeliveryError`` when retrying cannot help.
        """
        from .errors import PermanentDeliveryError

        raise PermanentDeliveryError(f"channel {self.plugin!r} cannot send messages")

    def refuse(self, to: str, text: str) -> str | None:
        """Why a reply to ``to`` can never be sent, asked before it is queued.

        Return a sentence the agent reads ("the customer has opted out
        (STOP)"), and the reply is refused with it and nothing is queued;
        return None to let it be queued and sent as usual. For what the
        channel already knows — an opt-out it recorded, a messaging window
        that closed — not for outages (those are ``send``'s to report, and the
        reply waits in the outbox).

        Called on the desk's store thread, not the event loop, while the reply
        is planned: read state the instance holds, do no I/O, await nothing,
        return within a millisecond. Asked only while the channel runs; an
        exception is logged and counts as None. The default refuses nothing.
        """
        return None

    async def call_back(self, to: str, *, agent: str, key: str) -> str:
        """Call the customer at ``to`` back for ``agent`` (their name): for a
        channel that declares ``calls``, when the agent presses *call back*.

        Place the call (ring the agent's phone, then put the customer
        through, or however the provider bridges) and return once the
        provider has taken it, with one line the agent reads ("ringing your
        phone, then +33612345678"). The call's outcome comes later, as an
        ``InboundCall`` you emit with ``direction="outbound"``. ``key`` is
        unique to the agent's request: the same key twice must place one call.

        Raise ``PermanentDeliveryError`` when it cannot be done (no phone
        configured for this agent, a number the provider refuses) and
        ``TemporaryDeliveryError`` or ``ChannelConnectionError`` when the
        provider is busy or unreachable: the agent reads your message, and
        nothing is retried — a call placed late is worse than none. The
        default refuses.
        """
        from .errors import PermanentDeliveryError

        raise PermanentDeliveryError(f"channel {self.plugin!r} cannot place calls")

    async def send_typing(self, to: str, typing: bool = True) -> None:
        """Show the customer at ``to`` that an agent is writing (or has stopped).

        Called for channels that declare ``typing_indicators``, while an agent
        types a reply; ``to`` is the address a reply would go to (as in
        ``Outbound.to``). Cosmetic and best effort: return promptly, and an
        exception is logged, never retried, and does not degrade the channel.
        The default does nothing.
        """

    async def mark_read(self, to: str, external_ids: tuple[str, ...]) -> None:
        """Tell the customer at ``to`` that an agent has read their messages.

        Called for channels that declare ``read_receipts`` when an agent opens
        the conversation: ``external_ids`` are the ``external_id`` of the
        customer's messages on this channel not yet marked, oldest first.
        Best effort, as ``send_typing``: an exception is logged and dropped.
        The default does nothing.
        """

    async def handoff_in(self, handoff: HandoffContext) -> Outbound | None:
        """Open a conversation that comes from another channel.

        Return the first message to send on this channel (the desk sends it
        through the outbox), or None to open the conversation silently. The
        default sends the context line as a plain message.
        """
        if not self.capabilities.outbound:
            return None
        return Outbound(
            key=f"handoff-{handoff.task_id}-{self.context.channel_name}",
            to=handoff.to,
            text=handoff.context,
            task_id=handoff.task_id,
            task_number=handoff.task_number,
            customer_name=handoff.customer_name,
            subject=handoff.subject,
        )

    def health(self) -> Health:
        """The channel's own view of its health; the supervisor adds restarts."""
        return Health(HealthState.UP)


class Enricher:
    """Looks a customer up in a CRM or back office.

    Subclass it, set ``plugin`` and ``options``, and implement ``lookup``. The
    fields it returns are shown in the console's customer pane.
    """

    plugin: ClassVar[str] = ""
    version: ClassVar[str] = "0"
    description: ClassVar[str] = ""
    options: ClassVar[tuple[Option, ...]] = ()

    def __init__(self, context: PluginContext) -> None:
        self.context = context

    async def lookup(self, identity_kind: str, value: str) -> dict[str, str] | None:
        """Profile fields for this identity, or None when the CRM does not know it.

        ``identity_kind`` is one of the desk's identity kinds (``"email"``,
        ``"phone"`` in E.164, or a kind a channel declared) and ``value`` the
        customer's address of that kind; the desk asks for each identity of
        the customer in turn, in a worker, never holding up the console or
        ingest, and caches what it gets for the configured time.

        Return the fields in the order the customer pane shows them, keys in
        lower case (``company``, ``plan``, ``lifetime_value``, ``deals``,
        ``owner``, ``link``): agents filter on them (``company:acme``) and
        routing rules read them as customer fields. Values are shown as text,
        cleaned of control characters by the desk.

        Raise ``LookupUnavailable("timeout")`` when the CRM cannot answer now;
        any other exception is reported the same way with its type name.
        Use ``self.context.http_client()`` for requests, with a timeout of a
        few seconds: a look-up slower than the desk's limit is abandoned.
        """
        return None
