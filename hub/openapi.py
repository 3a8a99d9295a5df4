"""The OpenAPI 3.1 document, built from the same pydantic models that validate requests."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel

from hub.schemas import BatchIn, Decision, NotifyIn, TemplateIn

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


@cache
def openapi_document() -> dict[str, Any]:
    """The whole document (built once per process)."""
    schemas: dict[str, Any] = {"Error": _ERROR}
    for model in (TemplateIn, Decision, NotifyIn, BatchIn):
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
