"""What the composer says of a messaging window, read from the timeline."""

from agentdesk.domain import Direction, Message
from agentdesk.domain.reply_window import reply_window


def _message(at: float, direction: Direction, channel: str = "wa") -> Message:
    return Message(
        id=f"m{at}", task_id="t", customer_id="c", at=at, direction=direction, channel=channel
    )


def test_the_window_closes_hours_after_the_customer_last_wrote_there():
    events = [
        _message(0, Direction.INBOUND),
        _message(3600, Direction.INBOUND),
        _message(7200, Direction.OUTBOUND),  # our reply does not reopen it
        _message(9000, Direction.INBOUND, channel="mail"),  # nor a message elsewhere
    ]
    window = reply_window(events, "wa", 24, now=7200)
    assert window.open and window.closes_at == 3600 + 24 * 3600
    assert window.describe() == "window open 23h 00m"
    late = reply_window(events, "wa", 24, now=3600 + 24 * 3600 + 5 * 60)
    assert not late.open and late.left == 0
    assert late.describe() == "window closed 5m ago: send a template"
    assert (
        reply_window(events, "wa", 24, now=3 * 86400 + 3600)
        .describe()
        .startswith("window closed 2d ago")
    )


def test_a_channel_the_customer_never_wrote_on_has_no_window():
    window = reply_window([_message(0, Direction.INBOUND, channel="mail")], "wa", 24, now=10)
    assert not window.open and window.closes_at is None
    assert "has not written here" in window.describe()
