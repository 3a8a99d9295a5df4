"""Idempotency: one key names one request, whether it came in the body or the `Idempotency-Key` header.

A retry with the same key and the same request gets the first notification back (200,
`duplicate: true`); the same key with a different recipient, template, parameters, route,
action time or reference is a client bug and gets 409 `idempotency_conflict` instead of
silently answering for another message. The request is compared by `fingerprint`, a SHA-256 of
its canonical form (phone in E.164, `action_at` as UNIX seconds), stored beside the key.

    >>> a = {"to": {"phone": "+7 999 000-00-01"}, "template_id": "tpl_1", "idempotency_key": "k"}
    >>> b = {"to": {"phone": "89990000001"}, "template_id": "tpl_1", "idempotency_key": "k"}
    >>> fingerprint(NotifyIn.model_validate(a)) == fingerprint(NotifyIn.model_validate(b))
    True
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from typing import Any

from hub.api.schemas import NotifyIn
from hub.contacts.phones import normalize_phone
from hub.errors import RequestError

HEADER = "Idempotency-Key"


def fingerprint(item: NotifyIn) -> str:
    """A digest of everything the request asks for except its idempotency key."""
    data = item.model_dump(mode="json", exclude={"idempotency_key"}, exclude_none=True)
    if item.to.phone is not None:
        with contextlib.suppress(RequestError):  # refused later as `bad_phone`; the text as given will do
            data["to"]["phone"] = normalize_phone(item.to.phone)
    if item.action_at is not None:
        data["action_at"] = item.action_at.timestamp()
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def with_header_key(body: dict[str, Any], header: str | None) -> dict[str, Any]:
    """The body with the `Idempotency-Key` header as its `idempotency_key` (422 when both differ)."""
    if header is None:
        return body
    given = body.get("idempotency_key")
    if given is not None and given != header:
        raise RequestError(
            "idempotency_key_mismatch",
            f"the {HEADER} header and the body's idempotency_key differ; give one, or both the same",
        )
    return {**body, "idempotency_key": header}


def conflict(key: str) -> RequestError:
    """409: the key was used before for a different request."""
    return RequestError(
        "idempotency_conflict",
        f"idempotency key {key!r} was used for a different request (recipient, template or parameters)",
        status=409,
    )
