"""Pure reply decisions, survey arithmetic and webhook signing (no event loop, no database)."""

from __future__ import annotations

import json

from standardwebhooks.webhooks import Webhook

from hub.api.openapi import openapi_document
from hub.conversations.replies import ASK_TEXT, Facts, Plan, decide, language
from hub.surveys.results import summarize
from hub.webhooks import events as webhooks


def facts(label: str, confidence: float = 0.95, **kw: object) -> Facts:
    base: dict[str, object] = {
        "label": label,
        "confidence": confidence,
        "rating": None,
        "text": "x",
        "opted_out": False,
        "confirm_pending": False,
        "needs_agent": False,
    }
    base.update(kw)
    return Facts(**base)  # type: ignore[arg-type]


def test_confident_opt_out_suppresses_and_confirms_once() -> None:
    plan = decide(facts("opt_out", text="СТОП"))
    assert plan.opted_out is True and plan.send_text is not None and plan.send_text.startswith("Вы отписаны")
    assert decide(facts("opt_out", text="СТОП", opted_out=True)) == Plan()


def test_unsure_opt_out_asks_and_yes_decides() -> None:
    assert decide(facts("opt_out", 0.4)) == Plan(confirm_pending=True, send_text=ASK_TEXT)
    assert decide(facts("opt_out", 0.4, confirm_pending=True)).opted_out is True
    assert decide(facts("other", text="Да!", confirm_pending=True)).opted_out is True
    assert decide(facts("other", text="нет", confirm_pending=True)) == Plan(confirm_pending=False)


def test_opt_in_rating_question() -> None:
    assert decide(facts("opt_in", text="start", opted_out=True)).send_text == (
        "You are subscribed to notifications again."
    )
    assert decide(facts("opt_in")) == Plan()
    assert decide(facts("rating", rating=4)).record_rating == 4
    assert decide(facts("question")).needs_agent is True
    assert decide(facts("other")) == Plan()


def test_language() -> None:
    assert language("please stop") == "en" and language("стоп") == "ru" and language("5") == "ru"


def test_survey_summary() -> None:
    result = summarize(10, 6, [5, 4, 2, 5])
    assert result["distribution"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 2}
    assert result["average"] == 4.0 and result["csat"] == 0.75
    assert summarize(3, 0, [])["average"] is None


def test_signature_verifies_with_the_independent_library() -> None:
    secret = webhooks.new_secret()
    body = webhooks.encode({"type": "reply.received", "data": {"text": "привет"}})
    import time

    ts = int(time.time())
    headers = webhooks.headers(secret, "msg_1", ts, body)
    assert Webhook(secret).verify(body, headers) == json.loads(body)
    assert headers["webhook-signature"] == Webhook(secret).sign("msg_1", _dt(ts), body.decode())


def _dt(ts: int):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC)


def test_openapi_describes_the_two_way_endpoints() -> None:
    paths = openapi_document()["paths"]
    for path in ("/v1/threads", "/v1/threads/{id}/messages", "/v1/messages/{id}", "/v1/webhooks/replay"):
        assert path in paths
    assert "patch" in paths["/v1/messages/{id}"] and "delete" in paths["/v1/webhooks/{id}"]
