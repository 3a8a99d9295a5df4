"""Request bodies of the HTTP API: strict, unknown fields refused; also the source of /openapi.json."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from hub.errors import RequestError

ChannelName = Literal["vk", "ok", "telegram", "sms"]
Category = Literal["otp", "transactional", "service", "marketing"]
Context = Literal["survey", "promo", "delivery", "order_status", "payment", "appointment"]


def _representable(moment: datetime) -> datetime:
    """A time as an aware datetime (naive ones are UTC) that converts to UNIX seconds (1970..9999)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        seconds = aware.timestamp()
    except (OverflowError, ValueError, OSError):
        seconds = -1.0
    if seconds < 0:
        raise ValueError("give a time between the years 1970 and 9999")
    return aware


#: An ISO 8601 time in a body; `0001-01-01T00:00:00` and the like are refused, not a 500.
Moment = Annotated[datetime, AfterValidator(_representable)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


#: The base of request bodies defined by other packages (campaigns, chains, surveys).
Body = _Body


class TemplateIn(_Body):
    """A template submitted for moderation."""

    name: str = Field(min_length=1, max_length=200)
    text: str = Field(max_length=10_000)
    category: Category
    context: Context | None = None
    important: bool = False


class Decision(_Body):
    """An operator's moderation decision."""

    status: Literal["approved", "rejected"]
    reason: str | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _reason_for_rejection(self) -> Decision:
        if self.status == "rejected" and not self.reason:
            raise ValueError("a rejection needs a reason")
        return self


class Recipient(_Body):
    """Who gets the notification: exactly one of a phone number or a messenger id."""

    phone: str | None = Field(default=None, max_length=32)
    vk_user_id: str | None = Field(default=None, max_length=32, pattern=r"^\d+$")
    ok_user_id: str | None = Field(default=None, max_length=64)
    telegram_chat_id: str | None = Field(default=None, max_length=32, pattern=r"^-?\d+$")

    @model_validator(mode="after")
    def _exactly_one(self) -> Recipient:
        given = [k for k, v in self.model_dump().items() if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of phone, vk_user_id, ok_user_id, telegram_chat_id")
        return self


class RouteLeg(_Body):
    """One step of a route: a channel, how long to wait for it, and what counts as success."""

    channel: ChannelName
    ttl: int | None = Field(default=None, ge=15, le=86400)
    until: Literal["sent", "delivered", "read"] | None = None


class NotifyIn(_Body):
    """One notification request."""

    to: Recipient
    template_id: str = Field(min_length=1, max_length=64)
    params: dict[str, str | int | float] = Field(default_factory=dict)
    route: list[RouteLeg] | None = Field(default=None, min_length=1, max_length=4)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)
    action_at: Annotated[Moment | None, Field(strict=False)] = None
    reference: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _route_channels_once(self) -> NotifyIn:
        if self.route:
            channels = [leg.channel for leg in self.route]
            if len(set(channels)) != len(channels):
                raise ValueError("each channel may appear once in a route")
        return self


class BatchIn(_Body):
    """Up to 1,000 notification requests; each item is validated on its own (a bad one fails alone)."""

    items: list[Any] = Field(min_length=1, max_length=1000)


def parse(model: type[_Body], data: Any) -> Any:
    """Validate `data` against `model`, turning the first problem into one readable 422."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise invalid(e) from e


def invalid(error: ValidationError) -> RequestError:
    """A `RequestError` naming the first invalid field and why."""
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    if first["type"] == "extra_forbidden":
        return RequestError("unknown_field", f"{where}: unknown field")
    if first["type"] == "missing":
        return RequestError("missing_field", f"{where}: this field is required")
    message = first["msg"].removeprefix("Value error, ")
    return RequestError("invalid_field", f"{where}: {message}")


Label = Literal["opt_out", "opt_in", "question", "rating", "other"]
EventName = Literal[
    "notification.sent",
    "notification.delivered",
    "notification.read",
    "notification.failed",
    "notification.expired",
    "notification.fallback",
    "reply.received",
    "contact.opted_out",
    "contact.opted_in",
    "thread.needs_agent",
    "template.moderated",
    "contact.linked",
    "contact.ownership_changed",
]


class AnswerIn(_Body):
    """An agent's answer, sent on the channel the customer last wrote from."""

    text: str = Field(min_length=1, max_length=4000)


class AssignIn(_Body):
    """Who handles the thread (null unassigns; omitted means the calling agent)."""

    assignee: str | None = Field(default=None, max_length=200)


class RelabelIn(_Body):
    """An agent's correction of a message's label (and score)."""

    label: Label
    rating: int | None = Field(default=None, ge=1, le=5)


class WebhookIn(_Body):
    """A webhook endpoint: where to POST, and which events (all when omitted)."""

    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://")
    events: list[EventName] | None = None


class ReplayIn(_Body):
    """Which deliveries to send again: by id, or the dead ones created within a time range."""

    ids: list[str] | None = Field(default=None, max_length=1000)
    since: Annotated[Moment | None, Field(strict=False)] = None
    until: Annotated[Moment | None, Field(strict=False)] = None


class AgentIn(_Body):
    """Operator: an agent key for one client."""

    client_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)


class RotateIn(_Body):
    """A key rotation: how long the old key keeps working (the configured default when omitted).

    A JSON number 0..720 only: `false`, `"24"`, negatives, NaN and more than 30 days are refused (422).
    """

    overlap_hours: float | None = Field(default=None, ge=0, le=720, allow_inf_nan=False)


class WebhookRotateIn(_Body):
    """A signing-secret rotation: how long the old secret keeps signing beside the new one.

    Hours as a JSON number 0..720 (`webhooks.secret_overlap_hours`, 24, when omitted; 0: at once).
    """

    overlap_hours: float | None = Field(default=None, ge=0, le=720, allow_inf_nan=False)


class RateLimitIn(_Body):
    """A client's own API rate limit."""

    per_second: Annotated[float, Field(strict=False)] = Field(gt=0, le=100_000)
    burst: int = Field(ge=1, le=1_000_000)


class AccessIn(_Body):
    """Operator: a client's IP allow-list (empty: any address) and rate limit (null: the default)."""

    ip_allowlist: list[str] | None = Field(default=None, max_length=100)
    rate_limit: RateLimitIn | None = None


class LinksIn(_Body):
    """Which channels to make deep links for (all linkable when omitted) and how long they live."""

    channels: list[Literal["vk", "ok", "telegram"]] | None = Field(default=None, min_length=1, max_length=3)
    ttl_days: int = Field(default=30, ge=1, le=90)


class OwnershipIn(_Body):
    """The client's report that the phone changed hands (a new link re-verifies it)."""

    state: Literal["changed"]


class ImportIn(_Body):
    """Known identities to import: one object per contact (see `hub.contacts.import_file`)."""

    contacts: list[dict[str, Any]] = Field(min_length=1)


class KeyIn(_Body):
    """Operator: a new client key, optionally named."""

    name: str | None = Field(default=None, min_length=1, max_length=200)


class SandboxInboundIn(_Body):
    """A sandbox customer (one of phone / vk_user_id / ok_user_id / telegram_chat_id) writes to the client."""

    phone: str | None = Field(default=None, max_length=32)
    vk_user_id: str | None = Field(default=None, max_length=32)
    ok_user_id: str | None = Field(default=None, max_length=64)
    telegram_chat_id: str | None = Field(default=None, max_length=32)
    channel: ChannelName
    text: str = Field(min_length=1, max_length=4096)


class SandboxFollowIn(_Body):
    """A customer follows a sandbox deep link and writes (by default the link's own phone follows it)."""

    url: str = Field(min_length=1, max_length=2000)
    text: str | None = Field(default=None, min_length=1, max_length=4096)
    phone: str | None = Field(default=None, max_length=32)
    vk_user_id: str | None = Field(default=None, max_length=32)
    ok_user_id: str | None = Field(default=None, max_length=64)
    telegram_chat_id: str | None = Field(default=None, max_length=32)
