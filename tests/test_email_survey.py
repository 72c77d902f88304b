"""A survey by email, end to end: the agent closes the task, the desk mails one
link per score through the real SMTP server, a click records the answer once,
the thank-you page takes a comment, and a reply with a number counts too."""

from __future__ import annotations

import re

import httpx
from servers.email_mail import SUPPORT, customer_mail
from servers.imap_server import ImapAccount
from servers.smtp_server import SmtpSink
from test_email_desk import deliver_outbox, mail_channel, our_mail, receive

from agentdesk.api import ChannelStatus
from agentdesk.core.config import HttpConfig
from agentdesk.core.desk import Desk
from agentdesk.core.desk.local_client import LocalDeskClient
from agentdesk.core.host.http_server import DeskHttpServer
from agentdesk.core.host.survey_pages import add_survey_routes
from agentdesk.core.survey_config import SurveyConfig
from agentdesk.domain import Status, SurveyAnswer
from agentdesk.plugin import HealthState

pytest_plugins = ["servers.email_fixtures"]


def answers(desk: Desk, task_id: str) -> list[SurveyAnswer]:
    return [e for e in desk.store.events_of_task(task_id) if isinstance(e, SurveyAnswer)]


async def test_the_survey_mail_and_its_links(
    desk: Desk, client: LocalDeskClient, clock, account: ImapAccount, sink: SmtpSink, tmp_path
) -> None:
    from agentdesk_email import EmailChannel

    desk.register_channel(ChannelStatus("mail", "email", EmailChannel.capabilities, HealthState.UP))
    desk.set_surveys(SurveyConfig(ask=("csat", "ces"), delay=300))
    http = DeskHttpServer(HttpConfig(port=0))
    add_survey_routes(http, desk)
    desk.survey_links = await http.start()
    try:
        async with mail_channel(account, sink, tmp_path) as (channel, ctx):
            await sink.send_as_customer(customer_mail(message_id="<q@customer.test>"), SUPPORT)
            task = (await receive(desk, ctx)).task
            await client.reply(task.id, "It arrives tomorrow.")
            await client.set_status(task.id, Status.CLOSED)
            await deliver_outbox(desk, channel, clock.now)
            clock.advance(301)
            assert await desk.send_due_surveys() == 1
            await deliver_outbox(desk, channel, clock.now)
            survey = our_mail(sink)[-1].message
            assert survey["Subject"].endswith(f"[#{task.number}]")  # on the task's thread
            body = survey.get_body(("plain",)).get_content()
            assert "How satisfied are you" in body and "made it easy" in body
            links = re.findall(r"(http://\S+/survey/\S+/(\d))", body)
            assert [score for _, score in links] == [*"12345", *"1234567"]

            async with httpx.AsyncClient() as web:
                four = links[3][0]
                page = await web.get(four)
                assert page.status_code == 200 and "is recorded" in page.text
                assert "<form" in page.text and f"#{task.number}" in page.text
                again = await web.get(links[1][0])  # another score of the same question
                assert "recorded already" in again.text
                comment = four.rsplit("/", 1)[0] + "/comment"
                said = await web.post(comment, data={"comment": "Fast <b>and</b> kind"})
                assert "Thank you for your comment" in said.text
                await web.post(comment, data={"comment": "changed my mind"})  # taken once
                forged = await web.get(four.rsplit("/", 2)[0] + "/not-a-token/4")
                assert forged.status_code == 404

            [csat] = answers(desk, task.id)
            assert (csat.metric, csat.score, csat.comment) == ("csat", 4, "Fast <b>and</b> kind")
            assert csat.agent == "ana"

            # The second question answered by mail, with a number.
            reply = customer_mail(
                "7",
                subject="Re: " + survey["Subject"],
                in_reply_to=survey["Message-ID"],
                references=survey["Message-ID"],
            )
            await sink.send_as_customer(reply, SUPPORT)
            await receive(desk, ctx)
            scores = {a.metric: a.score for a in answers(desk, task.id)}
            assert scores == {"csat": 4, "ces": 7}
            assert desk.store.get_task(task.id).status == Status.CLOSED
    finally:
        await http.stop()
