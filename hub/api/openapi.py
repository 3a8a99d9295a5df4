"""The OpenAPI 3.1 document, built from the same pydantic models that validate requests."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel

from hub.api.audience_schemas import ContactPatchIn, GroupIn, MembersIn, SegmentIn, SettingsIn
from hub.api.schemas import (
    AccessIn,
    AgentIn,
    AnswerIn,
    AssignIn,
    BatchIn,
    Decision,
    ImportIn,
    KeyIn,
    LinksIn,
    NotifyIn,
    OwnershipIn,
    RelabelIn,
    ReplayIn,
    RotateIn,
    SandboxFollowIn,
    SandboxInboundIn,
    TemplateIn,
    WebhookIn,
    WebhookRotateIn,
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
    for code in (400, 401, *errors, 503):  # 503 `unavailable`: the database is overloaded or restarting
        out[str(code)] = {
            "description": "error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    retry = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}
    for status in ("429", "503"):
        if status in out:
            out[status]["headers"] = retry
    return out


def _op(
    summary: str, ok: int, body: type[BaseModel] | None = None, *errors: int, admin: bool = False
) -> dict[str, Any]:
    # client keys: IP allow-list and rate limit (hub.guard); admin token: too many wrong ones (per address)
    guard = (429,) if admin else (403, 429)
    op: dict[str, Any] = {"summary": summary, "responses": _answers(ok, None, *errors, *guard)}
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
        RotateIn,
        WebhookRotateIn,
        AccessIn,
        KeyIn,
        LinksIn,
        OwnershipIn,
        ImportIn,
        SandboxInboundIn,
        SandboxFollowIn,
        ContactPatchIn,
        GroupIn,
        MembersIn,
        SegmentIn,
        SettingsIn,
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
    paths.update(_security_paths())
    paths.update(_directory_paths())
    paths.update(_sandbox_paths())
    paths.update(_audience_paths())
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
    """Threads, surveys, feedback, agent keys and webhooks (issue 6)."""
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
        "/v1/surveys/results": {
            "get": _with(_op("Survey results of a template", 200, None, 404, 422), _query("template_id"))
        },
        "/v1/reports/delivery": {
            "get": _with(_op("Delivery statistics since a moment (e.g. 7d)", 200, None, 422), _query("since"))
        },
        "/v1/webhooks": {
            "post": _op("Register a webhook endpoint (the answer has its secret)", 201, WebhookIn, 403, 422),
            "get": _op("The client's webhook endpoints", 200, None, 403),
        },
        "/v1/webhooks/{id}": {
            "get": _with(_op("One webhook endpoint", 200, None, 403, 404), _ID),
            "delete": _with(_op("Delete a webhook endpoint", 204, None, 403, 404), _ID),
        },
        "/v1/webhooks/{id}/rotate": {"post": _with(_webhook_rotate(), _ID)},
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


def _directory_paths() -> dict[str, Any]:
    """Deep links, ownership reports and imports (identity linking)."""
    phone = [{"name": "phone", "in": "path", "required": True, "schema": {"type": "string"}}]
    links = _op(
        "One-time deep links that link a messenger account to this phone", 201, LinksIn, 403, 409, 413, 422
    )
    links["requestBody"]["required"] = False
    summary = "Import contacts (CSV, JSON; also XLSX as application/vnd.openxmlformats-officedocument"
    summary += ".spreadsheetml.sheet), streamed; per-row errors"
    imports = _op(summary, 200, None, 403, 413, 415, 422)
    imports["requestBody"] = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"$ref": "#/components/schemas/ImportIn"},
                        {"type": "array", "items": {"type": "object"}, "minItems": 1},
                    ]
                }
            },
            "text/csv": {"schema": {"type": "string"}},
        },
    }
    return {
        "/v1/contacts/import": {"post": imports},
        "/v1/contacts/{phone}/links": {"post": _with(links, phone)},
        "/v1/contacts/{phone}/ownership": {
            "post": _with(
                _op("Report that the phone changed owner", 200, OwnershipIn, 403, 404, 413, 422), phone
            )
        },
    }


def _webhook_rotate() -> dict[str, Any]:
    """A new signing secret; the old one signs too (a second `v1,` signature) for `overlap_hours`."""
    summary = "Rotate the signing secret; the old one also signs deliveries for `overlap_hours` (24)"
    rotate = _op(summary, 200, WebhookRotateIn, 403, 404, 413, 422)
    rotate["requestBody"]["required"] = False
    return rotate


def _audience_paths() -> dict[str, Any]:
    """Contacts as people, groups, segments and the directory settings (audiences)."""
    phone = [{"name": "phone", "in": "path", "required": True, "schema": {"type": "string"}}]
    members = _op("Add contacts to a group by phone", 200, MembersIn, 403, 404, 413, 422)
    leave = _op("Take contacts out of a group by phone", 200, MembersIn, 403, 404, 413, 422)
    return {
        "/v1/contacts": {
            "get": _with(
                _op("Contacts by id, in a group and/or segment, cursor-paged", 200, None, 404, 422),
                _query("group", "segment", "q", "cursor", "limit"),
            )
        },
        "/v1/contacts/{phone}": {
            "get": _with(
                _op("A contact: profile, identities, activity, suppression", 200, None, 404, 422), phone
            ),
            "patch": _with(
                _op("Change name, attributes, consent or zone", 200, ContactPatchIn, 403, 404, 413, 422),
                phone,
            ),
            "delete": _with(_op("Erase the contact's personal data", 204, None, 403, 404, 422), phone),
        },
        "/v1/settings": {
            "get": _op("The client's directory settings", 200),
            "patch": _op("Set the default time zone of contacts", 200, SettingsIn, 403, 413, 422),
        },
        "/v1/groups": {
            "post": _op("Create a group", 201, GroupIn, 403, 409, 413, 422),
            "get": _op("The client's groups with member counts", 200),
        },
        "/v1/groups/{id}/members": {"post": _with(members, _ID), "delete": _with(leave, _ID)},
        "/v1/groups/{id}": {"delete": _with(_op("Delete a group", 204, None, 403, 404, 409), _ID)},
        "/v1/segments": {
            "post": _op("Save a segment (a filter over contacts)", 201, SegmentIn, 403, 409, 413, 422),
            "get": _op("The client's segments", 200),
        },
        "/v1/segments/{id}/preview": {
            "get": _with(_op("How many contacts a segment holds, with a sample", 200, None, 404, 422), _ID)
        },
    }


def _security_paths() -> dict[str, Any]:
    """Keys (rotation with overlap, revocation), client access settings and the audit log (issue 8)."""
    summary = "Rotate the calling client key; the old one works until `overlap_hours` pass"
    rotate = _op(summary, 201, RotateIn, 409, 413, 422)
    rotate["requestBody"]["required"] = False
    admin_rotate = _op("Operator: rotate a key (overlap)", 201, RotateIn, 403, 404, 409, 413, 422, admin=True)
    admin_rotate["requestBody"]["required"] = False
    audit = _op("Audit log, newest first (client key: own entries; admin token: all)", 200, None, 422)
    audit["security"] = [{"bearer": []}, {"admin": []}]
    access = _op("Operator: set allow-list/rate limit", 200, AccessIn, 403, 404, 413, 422, admin=True)
    keys = _op("The client's keys (prefix, name, created, expires; never the secret)", 200)
    revoke = _op("Revoke one of the client's keys at once", 200, None, 404, 409)
    settings = _op("Operator: a client's allow-list and rate limit", 200, None, 403, 404, admin=True)
    admin_revoke = _op("Operator: revoke a key at once", 200, None, 403, 404, 409, admin=True)
    issue = _op("Operator: another client key (shown once)", 201, KeyIn, 403, 404, 413, 422, admin=True)
    issue["requestBody"]["required"] = False
    return {
        "/v1/keys": {"get": keys},
        "/v1/keys/rotate": {"post": rotate},
        "/v1/keys/{id}": {"delete": _with(revoke, _ID)},
        "/v1/audit": {"get": _with(audit, _query("client_id", "action", "since", "cursor", "limit"))},
        "/v1/admin/clients/{id}": {"get": _with(settings, _ID), "patch": _with(access, _ID)},
        "/v1/admin/clients/{id}/keys": {
            "get": _with(_op("Operator: every key of a client", 200, None, 403, 404, admin=True), _ID),
            "post": _with(issue, _ID),
        },
        "/v1/admin/keys/{id}/rotate": {"post": _with(admin_rotate, _ID)},
        "/v1/admin/keys/{id}": {"delete": _with(admin_revoke, _ID)},
    }


def _sandbox_paths() -> dict[str, Any]:
    """The client's own sandbox, driven by hand (404 `sandbox_disabled` when it is off)."""
    who = _query("phone", "vk_user_id", "ok_user_id", "telegram_chat_id", "after", "limit")
    return {
        "/v1/sandbox/inbound": {
            "post": _op(
                "A sandbox customer writes to this client (filed like a reply)",
                202,
                SandboxInboundIn,
                403,
                404,
                409,
                413,
                422,
            )
        },
        "/v1/sandbox/messages": {
            "get": _with(
                _op("What a sandbox customer received from this client, in order", 200, None, 404, 422), who
            )
        },
        "/v1/sandbox/follow": {
            "post": _op(
                "A customer follows one of this client's sandbox links and writes",
                202,
                SandboxFollowIn,
                403,
                404,
                409,
                413,
                422,
            )
        },
    }
