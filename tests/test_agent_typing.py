"""An agent writing a reply is shown to the customer on channels that can show it.

The console calls ``DeskClient.typing``; the desk finds the reply's address
and the runtime hands it to the channel's ``send_typing``. It is cosmetic: a
channel that cannot show it is not asked, and one that fails at it is only
logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
from test_plugin_runtime import Harness, until

from agentdesk.core.desk.local_client import LocalDeskClient
from agentdesk.core.host.discovery import PluginCatalog
from agentdesk.plugin import Capabilities, Channel, HealthState, InboundMessage


class TypingChat(Channel):
    """A chat channel that records the typing it is asked to show."""

    plugin = "typing-chat"
    capabilities = Capabilities(
        kind="chat", identity_kind="chat", realtime=True, typing_indicators=True
    )
    shown: ClassVar[list[tuple[str, bool]]] = []
    fail = False

    async def start(self) -> None:
        await self.context.emit(InboundMessage("session-42", "Bonjour ?", external_id="m1"))

    async def send_typing(self, to: str, typing: bool = True) -> None:
        if self.fail:
            raise RuntimeError("the widget is gone")
        TypingChat.shown.append((to, typing))


class PlainSms(TypingChat):
    """The same, on a channel that declares no typing indicators."""

    plugin = "plain-sms"
    capabilities = Capabilities(kind="sms", identity_kind="phone")

    async def start(self) -> None:
        await self.context.emit(InboundMessage("+33612345678", "Bonjour", external_id="s1"))


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    TypingChat.shown = []
    TypingChat.fail = False
    catalog = PluginCatalog({"typing-chat": TypingChat, "plain-sms": PlainSms}, {}, [])
    return Harness(tmp_path, catalog)


def task_on(harness: Harness, channel: str) -> str:
    tasks = [t for t in harness.desk.store.tasks() if t.channel == channel]
    return tasks[0].id


async def test_typing_reaches_the_customer_on_a_chat(harness: Harness) -> None:
    runtime = await harness.start(("typing-chat", "chat", {}), ("plain-sms", "sms", {}))
    await until(lambda: len(list(harness.desk.store.tasks())) == 2, "both tasks")
    client = LocalDeskClient(harness.desk, "ana")
    await client.typing(task_on(harness, "chat"), True)
    await client.typing(task_on(harness, "chat"), False)
    assert TypingChat.shown == [("session-42", True), ("session-42", False)]
    # An SMS cannot show it: the channel is not asked.
    await client.typing(task_on(harness, "sms"), True)
    assert TypingChat.shown == [("session-42", True), ("session-42", False)]
    await runtime.stop()
    # No channel running: nothing to tell, and no error.
    await client.typing(task_on(harness, "chat"), True)
    assert len(TypingChat.shown) == 2


async def test_a_channel_failing_at_typing_stays_up(harness: Harness) -> None:
    runtime = await harness.start(("typing-chat", "chat", {}))
    await until(lambda: len(list(harness.desk.store.tasks())) == 1, "the task")
    TypingChat.fail = True
    await LocalDeskClient(harness.desk, "ana").typing(task_on(harness, "chat"), True)
    assert harness.status("chat").state == HealthState.UP
    await runtime.stop()
