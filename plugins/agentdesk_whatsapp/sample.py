"""The webhook ``agentdesk plugins check whatsapp`` posts: a text message to the
configured number, as Meta sends it, signed with the configured App secret."""

from __future__ import annotations

import json
import time

from agentdesk.plugin import SampleWebhook

from .signature import HEADER, sign

#: A customer number reserved for fiction (+1 555 01xx).
SAMPLE_CUSTOMER = "15555550142"


def sample_webhook(path: str, phone_number_id: str, app_secret: str) -> SampleWebhook:
    now = int(time.time())
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "0",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15555550100",
                                "phone_number_id": phone_number_id,
                            },
                            "contacts": [
                                {"profile": {"name": "Plugin Check"}, "wa_id": SAMPLE_CUSTOMER}
                            ],
                            "messages": [
                                {
                                    "from": SAMPLE_CUSTOMER,
                                    "id": f"wamid.agentdesk-plugin-check-{now}",
                                    "timestamp": str(now),
                                    "type": "text",
                                    "text": {"body": "Hello from agentdesk plugins check"},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    body = json.dumps(payload, separators=(",", ":"))
    return SampleWebhook(path, body, headers={HEADER: sign(app_secret, body.encode("utf-8"))})
