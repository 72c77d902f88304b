"""A spooled customer message made an ``InboundMessage`` for the desk."""

from __future__ import annotations

from agentdesk.plugin import InboundAttachment, InboundMessage

from .events import IncomingMessage
from .identity import wa_id
from .media import MediaStore, describe
from .rendering import render

#: Files kept per message; WhatsApp sends one, this only bounds a strange payload.
MAX_MEDIA = 10


async def to_inbound(message: IncomingMessage, media: MediaStore | None) -> InboundMessage:
    """The desk's item for ``message``, its media fetched (or noted in the text)."""
    rendered = render(message.kind, message.body)
    attachments: list[InboundAttachment] = []
    notes: list[str] = []
    for index, ref in enumerate(rendered.media[:MAX_MEDIA], start=1):
        if media is None:
            notes.append(f"[{describe(ref)}: not downloaded (the channel was stopping)]")
            continue
        fetched = await media.fetch(message.id, index, ref)
        if fetched.attachment is not None:
            attachments.append(fetched.attachment)
        if fetched.note:
            notes.append(fetched.note)
    text = "\n".join(part for part in (rendered.text, *notes) if part)
    number = wa_id(message.sender)
    # The wa_id is the customer's phone number: linking it lets their SMS and
    # calls join the same customer.
    others = (("phone", f"+{number}"),) if number is not None else ()
    return InboundMessage(
        identity=message.sender,
        text=text,
        external_id=message.id,
        customer_name=message.name,
        thread_ref=rendered.replying_to,
        at=message.sent_at,
        attachments=tuple(attachments),
        other_identities=others,
    )
