"""The web chat widget in headless Chromium, against the channel on a real server.

Needs Debian's ``chromium`` and the ``playwright`` Python package (no browser
download: Playwright drives /usr/bin/chromium). Without them these tests
skip, unless AGENTDESK_REQUIRE_SERVERS=1 makes that a failure.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from conftest import skip_or_fail
from test_webchat_server import STEP, Chat, running_chat

from agentdesk.plugin import InboundMessage, TypingSignal

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def _missing() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python is not installed (pip install playwright)"
    if not CHROMIUM.exists():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    return None


# One browser for the module (launching one costs seconds), a fresh context per test.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Any]:
    reason = _missing()
    if reason:
        skip_or_fail(reason)
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Any) -> AsyncIterator[Any]:
    """A fresh page (own storage) the size of a chat widget."""
    context = await browser.new_context(viewport={"width": 420, "height": 640})
    context.set_default_timeout(STEP * 1000)
    try:
        yield await context.new_page()
    finally:
        await context.close()


def expect(locator: Any) -> Any:
    from playwright.async_api import expect as playwright_expect

    return playwright_expect(locator)


async def next_message(chat: Chat) -> InboundMessage:
    """The next InboundMessage the channel emitted (typing signals are skipped)."""
    while True:
        item = await chat.ctx.next_inbound(STEP)
        if isinstance(item, InboundMessage):
            return item


async def open_widget(page: Any, chat: Chat) -> None:
    await page.goto(chat.page_url)
    await expect(page.locator("#chat-status")).to_have_text("Online")


async def visitor_says(page: Any, text: str) -> None:
    await page.locator("#composer-text").fill(text)
    await page.locator("#composer-text").press("Enter")


async def test_visitor_and_agent_chat_live(page: Any, desk: Any) -> None:
    # A generous receipt wait: send returns as soon as the page confirms.
    async with running_chat({"delivery_wait_seconds": 10}) as chat:
        await open_widget(page, chat)
        await visitor_says(page, "Hello, my <b>order</b> is late")
        item = await next_message(chat)
        assert item.text == "Hello, my <b>order</b> is late"
        assert TypingSignal(item.identity, True) in chat.ctx.emitted  # the visitor typed
        result = await desk.ingest("chat", item)
        assert result.created_task and result.task.channel == "chat"  # the task is in the desk
        assert desk.store.task_by_number(result.task.number).subject.startswith("Hello")
        visitor_bubble = page.locator("#chat-log .msg-visitor .text").last
        await expect(visitor_bubble).to_have_text("Hello, my <b>order</b> is late")

        await chat.channel.send_typing(item.identity, True)
        await expect(page.locator("#chat-typing")).to_be_visible()

        hostile = '<img src=x onerror="window.pwned=1">Sorry! It ships today.'
        delivery = await chat.channel.send(chat.reply(item.identity, hostile))
        assert delivery.state == "delivered"  # the open page confirmed it
        reply = page.locator("#chat-log .msg-agent .text").last
        await expect(reply).to_have_text(hostile)
        await expect(page.locator("#chat-typing")).to_be_hidden()
        assert await page.locator("#chat-log img").count() == 0
        assert await page.evaluate("window.pwned") is None
        await expect(page.locator("#chat-log .msg-agent .meta").last).to_contain_text("Sam")

        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "webchat-widget.png"))


async def test_dropped_connection_reconnects_and_replays(page: Any) -> None:
    async with running_chat() as chat:
        await open_widget(page, chat)
        await visitor_says(page, "Is anyone there?")
        session = (await next_message(chat)).identity
        await expect(page.locator("#chat-log .msg-visitor[data-seq='1']")).to_have_count(1)

        assert chat.channel.disconnect(session) == 1
        # More replies than the desk's flood guard allows frames at once: the page
        # must confirm them in one receipt, or it would be cut off again.
        replies = [f"Reply {n} while you were away" for n in range(1, 81)]
        for n, text in enumerate(replies):
            delivery = await chat.channel.send(chat.reply(session, text, f"r{n}"))
            assert delivery.state == "sent"
        await expect(page.locator("#chat-log .msg-agent .text").last).to_have_text(replies[-1])
        await expect(page.locator("#chat-status")).to_have_text("Online")
        # Each message shows once, in order, after the replay.
        texts = await page.locator("#chat-log [data-seq] .text").all_text_contents()
        assert texts == ["Is anyone there?", *replies]
        assert chat.channel.is_connected(session)
        # The page's receipt arrives: a retried send now reports it read.
        async with asyncio.timeout(STEP):
            while True:
                retried = await chat.channel.send(chat.reply(session, replies[-1], "r79"))
                if retried.detail == "read":
                    break
                await page.wait_for_timeout(20)
        assert retried.state == "delivered"


async def test_returning_visitor_keeps_session_and_links_email(page: Any, desk: Any) -> None:
    async with running_chat() as chat:
        await open_widget(page, chat)
        await visitor_says(page, "First question")
        first = await next_message(chat)
        await desk.ingest("chat", first)
        await chat.channel.send(chat.reply(first.identity, "First answer"))

        await page.reload()
        await expect(page.locator("#chat-status")).to_have_text("Online")
        texts = page.locator("#chat-log [data-seq] .text")
        await expect(texts).to_have_text(["First question", "First answer"])

        await page.locator("#chat-contact summary").click()
        await page.locator("#contact-name").fill("Ada Lovelace")
        await page.locator("#contact-email").fill("ada@example.com")
        await page.locator("#contact-form button").click()
        await expect(page.locator("#contact-note")).to_contain_text("ada@example.com")

        contact = await next_message(chat)  # the desk learns the email at once
        assert contact.identity == first.identity
        assert contact.other_identities == (("email", "ada@example.com"),)
        result = await desk.ingest("chat", contact)
        assert result.task.id == desk.store.task_by_number(result.task.number).id
        identities = {str(identity) for identity in result.customer.identities}
        assert "email:ada@example.com" in identities
        assert any(identity.startswith("chat:") for identity in identities)


async def test_script_tag_embeds_the_widget_on_another_site(page: Any) -> None:
    # The same server answers as "localhost" too: a different origin from
    # 127.0.0.1, as a shop's site is from the desk.
    def shop_of(base_url: str) -> str:
        return base_url.replace("127.0.0.1", "localhost")

    async with running_chat(lambda base: {"allowed_origins": [shop_of(base)]}) as chat:
        host_page = (
            "<!doctype html><title>Shop</title><h1>Our shop</h1>"
            f'<script src="{chat.page_url}embed.js" data-label="Ask us" async></script>'
        )

        async def shop(request: Any) -> Any:
            from starlette.responses import HTMLResponse

            return HTMLResponse(host_page)

        chat.ctx.server.add_route("/shop/", shop)
        await page.goto(shop_of(chat.base_url) + "/shop/")
        await page.get_by_role("button", name="Ask us").click()
        widget = page.frame_locator("iframe[title='Ask us']")
        await expect(widget.locator("#chat-status")).to_have_text("Online")
        await widget.locator("#composer-text").fill("Do you ship to Lyon?")
        await widget.locator("#composer-text").press("Enter")
        assert (await next_message(chat)).text == "Do you ship to Lyon?"
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "webchat-embedded.png"))
