"""The OpenAPI 3.1 document, built from the same pydantic models that validate requests."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel

from hub.schemas import (
    AgentIn,
    AnswerIn,
    AssignIn,
    BatchIn,
    Decision,
    NotifyIn,
    RelabelIn,
    ReplayIn,
    TemplateIn,
    WebhookIn,
)

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
_OBJ = {"type": "object"}


def _body(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
    }


def _answers(ok: int, schema: dict[str, Any] | None = None, *errors: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        str(ok): {"description": "success", "content": {"application/json": {"schema": schema or _OBJ}}}
    }
    for code in (400, 401, *errors):
        out[str(code)] = {
            "description": "error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    return out


def _op(
    summary: str, ok: int, body: type[BaseModel] | None = None, *errors: int, admin: bool = False
) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": _answers(ok, None, *errors)}
    if body is not None:
        op["requestBody"] = _body(body)
    op["security"] = [{"admin": []}] if admin else [{"bearer": []}]
    return op


_ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]


def _jsonl(op: dict[str, Any]) -> dict[str, Any]:
    """The success answer is JSON lines, one object per line."""
    op["responses"]["200"]["content"] = {"application/x-ndjson": {"schema": {"type": "string"}}}
    return op


@cache
def openapi_document() -> dict[str, Any]:
    """The whole document (built once per process)."""
    schemas: dict[str, Any] = {"Error": _ERROR}
    for model in (
        TemplateIn,
        Decision,
        NotifyIn,
        BatchIn,
        AnswerIn,
        AssignIn,
        RelabelIn,
        WebhookIn,
        ReplayIn,
        AgentIn,
    ):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    paths: dict[str, Any] = {
        "/healthz": {
            "get": {"summary": "Liveness and database check", "security": [], "responses": _answers(200)}
        },
        "/v1/templates": {
            "post": _op("Submit a template for moderation", 201, TemplateIn, 413, 422),
            "get": _op("List the client's templates", 200),
        },
        "/v1/templates/{id}": {"get": {**_op("One template", 200, None, 404), "parameters": _ID}},
        "/v1/notify": {"post": _op("Send one notification", 202, NotifyIn, 404, 409, 413, 422)},
        "/v1/notify/batch": {
            "post": _op("Send up to 1,000 notifications, a result per item", 202, BatchIn, 413, 422)
        },
        "/v1/notifications/{id}": {
            "get": {**_op("A notification with legs, cost and events", 200, None, 404), "parameters": _ID}
        },
        "/v1/admin/clients": {
            "post": _op(
                "Operator: create a client (its API key is shown once)", 201, None, 403, 409, 422, admin=True
            )
        },
        "/v1/admin/templates": {"get": _op("Operator: templates by status", 200, None, 403, admin=True)},
        "/v1/admin/templates/{id}/decision": {
            "post": {
                **_op(
                    "Operator: approve or reject a template", 200, Decision, 403, 404, 409, 422, admin=True
                ),
                "parameters": _ID,
            }
        },
    }
    paths.update(_two_way_paths())
    return {
        "openapi": "3.1.0",
        "info": {"title": "notifyhub", "version": "1", "description": "Two-way business messaging hub."},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "The client's API key"},
                "admin": {"type": "http", "scheme": "bearer", "description": "The operator's admin token"},
            },
        },
    }


def _query(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "in": "query", "required": False, "schema": {"type": "string"}} for n in names]


def _with(op: dict[str, Any], params: list[dict[str, Any]]) -> dict[str, Any]:
    return {**op, "parameters": params}


def _two_way_paths() -> dict[str, Any]:
    """Threads, contacts, surveys, feedback, agent keys and webhooks (issue 6)."""
    phone = [{"name": "phone", "in": "path", "required": True, "schema": {"type": "string"}}]
    thread_q = _query(
        "status", "label", "needs_agent", "assignee", "phone", "updated_since", "cursor", "limit"
    )
    return {
        "/v1/threads": {"get": _with(_op("Threads (filters, cursor pagination)", 200, None, 422), thread_q)},
        "/v1/threads/{id}": {"get": _with(_op("A thread with its messages in order", 200, None, 404), _ID)},
        "/v1/threads/{id}/messages": {
            "post": _with(
                _op("Agent answer on the customer's last channel", 202, AnswerIn, 404, 409, 422), _ID
            )
        },
        "/v1/threads/{id}/assign": {"post": _with(_op("Assign a thread", 200, AssignIn, 404, 422), _ID)},
        "/v1/threads/{id}/resolve": {"post": _with(_op("Resolve a thread", 200, None, 404), _ID)},
        "/v1/messages/{id}": {
            "patch": _with(
                _op("Relabel a customer message (undoes/applies its action)", 200, RelabelIn, 404, 422), _ID
            )
        },
        "/v1/feedback": {
            "get": _jsonl(_op("Agents' relabellings as JSONL (classifier training format)", 200))
        },
        "/v1/contacts/{phone}": {
            "get": _with(_op("A contact: identities, activity, suppression", 200, None, 404, 422), phone)
        },
        "/v1/surveys/results": {
            "get": _with(_op("Survey results of a template", 200, None, 404, 422), _query("template_id"))
        },
        "/v1/webhooks": {
            "post": _op("Register a webhook endpoint (the answer has its secret)", 201, WebhookIn, 403, 422),
            "get": _op("The client's webhook endpoints", 200, None, 403),
        },
        "/v1/webhooks/{id}": {
            "get": _with(_op("One webhook endpoint", 200, None, 403, 404), _ID),
            "delete": _with(_op("Delete a webhook endpoint", 204, None, 403, 404), _ID),
        },
        "/v1/webhooks/{id}/rotate": {
            "post": _with(_op("Rotate the signing secret", 200, None, 403, 404), _ID)
        },
        "/v1/webhooks/deliveries": {
            "get": _with(
                _op("Delivery log, newest first", 200, None, 403, 422),
                _query("status", "endpoint_id", "before", "limit"),
            )
        },
        "/v1/webhooks/replay": {
            "post": _op("Replay deliveries by id or dead ones by time range", 200, ReplayIn, 403, 422)
        },
        "/v1/admin/agents": {
            "post": _op("Operator: an agent key for one client", 201, AgentIn, 403, 404, 422, admin=True)
        },
    }
