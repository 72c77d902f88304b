"""The pages a survey link opens: the answer recorded, a thank-you, a comment box.

``GET /survey/{token}/{score}`` records the score (the first click of a
question counts; every later one says it was recorded already), and
``POST /survey/{token}/comment`` adds the comment the page offers. Tokens
are unguessable and single-use; a page never shows what it was not given.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from .http_server import DeskHttpServer

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import HTMLResponse

    from agentdesk.core.desk import Desk

#: Longest comment body read, in bytes.
MAX_BODY = 16 * 1024

_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}}
textarea{{width:100%;min-height:6rem}}</style></head>
<body><h1>{title}</h1>{body}</body></html>"""


def add_survey_routes(http: DeskHttpServer, desk: Desk) -> None:
    """Serve the survey links of ``desk`` on ``http``."""
    from starlette.responses import HTMLResponse

    def page(title: str, body: str = "", status: int = 200) -> HTMLResponse:
        text = _PAGE.format(lang="en", title=html.escape(title), body=body)
        return HTMLResponse(text, status, headers={"Cache-Control": "no-store"})

    async def answer(request: Request) -> HTMLResponse:
        token = str(request.path_params.get("token", ""))
        try:
            score = int(str(request.path_params.get("score", "")))
        except ValueError:
            return page("This link is not valid", status=404)
        outcome, label = await desk.answer_survey_link(token, score)
        if outcome == "unknown":
            return page("This link is not valid", status=404)
        if outcome == "already":
            return page("Thank you", "<p>Your answer was recorded already.</p>")
        action = html.escape(f"/survey/{token}/comment", quote=True)
        form = (
            f"<p>Your answer about {html.escape(label)} is recorded.</p>"
            f'<form method="post" action="{action}"><label for="c">Anything to add?</label>'
            '<textarea id="c" name="comment" maxlength="2000"></textarea>'
            "<p><button>Send</button></p></form>"
        )
        return page("Thank you", form)

    async def comment(request: Request) -> HTMLResponse:
        token = str(request.path_params.get("token", ""))
        body = await request.body()
        if len(body) > MAX_BODY:
            return page("That comment is too long", status=413)
        from urllib.parse import parse_qs

        fields = parse_qs(body.decode("utf-8", "replace"))
        text = (fields.get("comment") or [""])[0]
        taken = await desk.comment_survey_link(token, text)
        return page("Thank you", "<p>Thank you for your comment.</p>" if taken else "")

    http.add_route("/survey/{token}/comment", comment, ("POST",))
    http.add_route("/survey/{token}/{score}", answer, ("GET",))
