"""Run the console over the fake desk, to look at it: python -m tests.tui.demo_app"""

from __future__ import annotations

from agentdesk.tui import AgentDeskApp

from .fake_client import NOW, FakeConnector, sample_desk


def main() -> None:
    desk = sample_desk()
    canned = {"refund": "Hi {customer.first_name}, your refund for #{task.number} is on its way."}
    AgentDeskApp(FakeConnector(desk), clock=lambda: NOW, canned=canned).run()


if __name__ == "__main__":
    main()
