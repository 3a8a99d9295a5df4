"""Tables of the hub. Timestamps are UNIX seconds (float) so SQLite and PostgreSQL agree exactly."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, Double, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base; `type_annotation_map` keeps column types the same on both databases."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        float: Double(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


class Client(Base):
    """A business tenant."""

    __tablename__ = "clients"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[float]
    #: Per-channel prices in minor units (kopecks); missing channels use the config defaults.
    prices: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    default_route: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    action_max_age_days: Mapped[int | None] = mapped_column(Integer, default=None)
    #: CIDRs the client's keys may be used from; None or empty means any address.
    ip_allowlist: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    #: Per-client API rate limit overrides; None uses `security.rate_limit_*` from the config.
    rate_limit_per_second: Mapped[float | None] = mapped_column(default=None)
    rate_limit_burst: Mapped[int | None] = mapped_column(Integer, default=None)
    #: The zone of contacts whose number names several zones and who gave none; None: Europe/Moscow.
    default_timezone: Mapped[str | None] = mapped_column(String(64), default=None)


class ApiKey(Base):
    """A hashed API key; the plain key is shown once at creation."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16), default="client")
    #: An agent's display name (agent keys only); used as the default assignee.
    name: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[float]
    revoked_at: Mapped[float | None] = mapped_column(default=None)
    #: The key's first characters, so people can tell keys apart (never enough to use it).
    prefix: Mapped[str | None] = mapped_column(String(16), default=None)
    #: A rotated-away key keeps working until this time (overlap), then answers 401.
    expires_at: Mapped[float | None] = mapped_column(default=None)


class WebSession(Base):
    """A signed-in web inbox session: the cookie carries its signed token; signing out deletes the row."""

    __tablename__ = "web_sessions"
    #: SHA-256 of the session token (the token itself lives only in the cookie).
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: `agent`, `client` or `operator`.
    role: Mapped[str] = mapped_column(String(16))
    client_id: Mapped[str | None] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), default=None)
    #: The API key signed in with (None for the operator): the session lasts only while the key does.
    key_id: Mapped[str | None] = mapped_column(String(32), default=None)
    name: Mapped[str] = mapped_column(String(200))
    csrf: Mapped[str] = mapped_column(String(64))
    #: Operator sessions: a keyed fingerprint of the admin token signed in with (a new token ends them).
    admin_fingerprint: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[float]
    expires_at: Mapped[float] = mapped_column(index=True)


class Template(Base):
    """A message template with its moderation state."""

    __tablename__ = "templates"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(16))
    context: Mapped[str | None] = mapped_column(String(16), default=None)
    important: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    checks: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[float]
    moderated_at: Mapped[float | None] = mapped_column(default=None)


class Contact(Base):
    """One customer of one client."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("client_id", "phone"), Index("ix_contacts_page", "client_id", "id"))
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    phone: Mapped[str | None] = mapped_column(String(20), default=None)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    marketing_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    ownership: Mapped[str] = mapped_column(String(16), default="verified")
    created_at: Mapped[float]
    name: Mapped[str | None] = mapped_column(String(200), default=None)
    #: The client's facts about the customer: name -> string, number, bool or ISO date (see AttributeType).
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    #: Where and when marketing consent was last given or withdrawn (`import`, `api`, or the client's word).
    consent_source: Mapped[str | None] = mapped_column(String(64), default=None)
    consent_at: Mapped[float | None] = mapped_column(default=None)
    #: From the phone number: ISO country, region (Russian), and the zone, where one is known.
    country: Mapped[str | None] = mapped_column(String(2), default=None)
    region: Mapped[str | None] = mapped_column(String(200), default=None)
    #: The contact's own `timezone`, else the number's single zone; None: the client's default zone.
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)


class ContactAttribute(Base):
    """One attribute name a client uses, with its type (learned from imports and edits)."""

    __tablename__ = "contact_attributes"
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: `string`, `number`, `date` or `boolean`.
    type: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[float]


class ContactGroup(Base):
    """A named set of a client's contacts."""

    __tablename__ = "contact_groups"
    __table_args__ = (UniqueConstraint("client_id", "name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[float]


class GroupMember(Base):
    """A contact's membership of a group."""

    __tablename__ = "group_members"
    group_id: Mapped[str] = mapped_column(
        ForeignKey("contact_groups.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[str] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Segment(Base):
    """A saved filter over a client's contacts (the filter language is in hub.contacts.segment_filter)."""

    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("client_id", "name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    filter: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[float]


class Identity(Base):
    """A contact's account on one messenger, with what the cascade needs to know about it."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("client_id", "channel", "external_id"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    last_active_at: Mapped[float | None] = mapped_column(default=None)
    allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    linked_at: Mapped[float]


class Notification(Base):
    """A rendered template on its way to one contact along a route of legs."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("client_id", "idempotency_key"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    #: None for free-form messages (agent answers, opt-out confirmations) inside a conversation.
    template_id: Mapped[str | None] = mapped_column(ForeignKey("templates.id"), default=None)
    text: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(16))
    important: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    cost_minor: Mapped[int] = mapped_column(Integer, default=0)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    #: SHA-256 of the request under `idempotency_key`: a retry must be the same request (else 409).
    request_fingerprint: Mapped[str | None] = mapped_column(String(64), default=None)
    reference: Mapped[str | None] = mapped_column(String(200), default=None)
    action_at: Mapped[float | None] = mapped_column(default=None)
    #: The customer's score (1..5) from a reply to this notification (surveys).
    rating: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[float]
    updated_at: Mapped[float]


class Leg(Base):
    """One channel attempt of a notification."""

    __tablename__ = "legs"
    __table_args__ = (
        UniqueConstraint("notification_id", "idx"),
        Index("ix_legs_external", "channel", "external_id"),
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    notification_id: Mapped[str] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"))
    idx: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))
    ttl: Mapped[int | None] = mapped_column(Integer, default=None)
    until: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    recipient: Mapped[str | None] = mapped_column(String(64), default=None)
    price_minor: Mapped[int] = mapped_column(Integer, default=0)
    units: Mapped[int] = mapped_column(Integer, default=1)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[float | None] = mapped_column(default=None)
    started_at: Mapped[float | None] = mapped_column(default=None)
    expires_at: Mapped[float | None] = mapped_column(default=None)
    sent_at: Mapped[float | None] = mapped_column(default=None)
    delivered_at: Mapped[float | None] = mapped_column(default=None)
    read_at: Mapped[float | None] = mapped_column(default=None)
    external_id: Mapped[str | None] = mapped_column(String(64), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    #: An expired messenger message's withdrawal: `pending` (the next leg waits for it), then
    #: `withdrawn`, `refused`, `unsupported` or `failed`; None when there was nothing to withdraw.
    withdrawal: Mapped[str | None] = mapped_column(String(16), default=None)
    withdraw_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class NotificationEvent(Base):
    """The timeline of a notification, newest last."""

    __tablename__ = "notification_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    notification_id: Mapped[str] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[float]
    kind: Mapped[str] = mapped_column(String(32))
    leg: Mapped[int | None] = mapped_column(Integer, default=None)
    detail: Mapped[str | None] = mapped_column(Text, default=None)


class OutboxItem(Base):
    """When a notification next needs the dispatcher; workers lease rows so each is handled once."""

    __tablename__ = "outbox"
    notification_id: Mapped[str] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), primary_key=True
    )
    due_at: Mapped[float] = mapped_column(index=True)
    claimed_until: Mapped[float | None] = mapped_column(default=None)


class PendingReceipt(Base):
    """A receipt that arrived before its send was recorded; applied when the send is."""

    __tablename__ = "pending_receipts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[float]
    error: Mapped[str | None] = mapped_column(Text, default=None)
    #: The connection the receipt came in on (None: a long-poll reader), for the per-connection cap.
    connection_id: Mapped[int | None] = mapped_column(Integer, default=None)
    __table_args__ = (
        Index("ix_pending_receipts_external", "channel", "external_id"),
        Index("ix_pending_receipts_connection", "connection_id"),
    )


class InboundMessage(Base):
    """A thread message: a customer's (direction `in`, once per platform message id) or ours (`out`)."""

    __tablename__ = "inbound_messages"
    __table_args__ = (UniqueConstraint("client_id", "channel", "external_id"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    notification_id: Mapped[str | None] = mapped_column(String(32), default=None)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[float]
    thread_id: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    direction: Mapped[str] = mapped_column(String(8), default="in", server_default="in")
    label: Mapped[str | None] = mapped_column(String(16), default=None)
    rating: Mapped[int | None] = mapped_column(Integer, default=None)
    confidence: Mapped[float | None] = mapped_column(default=None)
    #: `classifier` or the agent who relabelled it.
    labeled_by: Mapped[str | None] = mapped_column(String(200), default=None)
    #: The template context the classifier was given (kept for feedback export).
    context: Mapped[str | None] = mapped_column(String(16), default=None)
    #: Who wrote an outbound message: `agent:<name>` or `hub` (confirmations).
    author: Mapped[str | None] = mapped_column(String(200), default=None)


class Thread(Base):
    """All messages between one client and one contact."""

    __tablename__ = "threads"
    __table_args__ = (
        UniqueConstraint("client_id", "contact_id"),
        Index("ix_threads_list", "client_id", "updated_at"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="open")
    needs_agent: Mapped[bool] = mapped_column(Boolean, default=False)
    assignee: Mapped[str | None] = mapped_column(String(200), default=None)
    labels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: The channel the customer last wrote from (agent answers go there).
    last_channel: Mapped[str | None] = mapped_column(String(16), default=None)
    #: True after the hub asked "Отписать вас от уведомлений?" and before the customer answered.
    confirm_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float]
    updated_at: Mapped[float]


class Feedback(Base):
    """An agent's relabelling of a message: training data for the classifier."""

    __tablename__ = "classifier_feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    context: Mapped[str | None] = mapped_column(String(16), default=None)
    label: Mapped[str] = mapped_column(String(16))
    rating: Mapped[int | None] = mapped_column(Integer, default=None)
    previous: Mapped[str | None] = mapped_column(String(16), default=None)
    at: Mapped[float]


class WebhookEndpoint(Base):
    """A client's webhook URL with its signing secret and event filter."""

    __tablename__ = "webhook_endpoints"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    #: Event types delivered; empty means all.
    events: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: `whsec_` + base64 of the key; never logged, shown only at creation and rotation.
    secret: Mapped[str] = mapped_column(String(200))
    #: The secret before the last rotation: deliveries carry its signature too until `previous_until`.
    previous_secret: Mapped[str | None] = mapped_column(String(200), default=None)
    previous_until: Mapped[float | None] = mapped_column(default=None)
    created_at: Mapped[float]
    deleted_at: Mapped[float | None] = mapped_column(default=None)


class WebhookDelivery(Base):
    """One event to one endpoint, with its attempts; delivered in `seq` order per `order_key`."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_due", "status", "next_attempt_at"),
        Index("ix_webhook_order", "endpoint_id", "order_key", "seq"),
        Index("ix_webhook_client", "client_id", "created_at"),
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: The `webhook-id` header: the same on every attempt and replay, so receivers can deduplicate.
    id: Mapped[str] = mapped_column(String(32), unique=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(32))
    #: Events with the same key (the contact, i.e. the thread) are delivered in order.
    order_key: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: `pending`, `delivered` or `dead`.
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float]
    claimed_until: Mapped[float | None] = mapped_column(default=None)
    last_status: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[float]
    delivered_at: Mapped[float | None] = mapped_column(default=None)


class SandboxMessage(Base):
    """What the simulated network received, keyed by the leg so a resend is deduplicated."""

    __tablename__ = "sandbox_messages"
    __table_args__ = (Index("ix_sandbox_messages_client", "client_id", "channel", "recipient", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    leg_key: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(64))
    #: The client that sent it: the customer's reply goes back to this client only.
    #: (No foreign key, like the rest of this log: it is the simulated platform's, not the hub's.)
    client_id: Mapped[str | None] = mapped_column(String(32), default=None)
    text: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[float]
    #: Scheduled receipts: the next one due is emitted by the sandbox's event stream.
    deliver_at: Mapped[float | None] = mapped_column(default=None)
    read_at: Mapped[float | None] = mapped_column(default=None)
    fail_at: Mapped[float | None] = mapped_column(default=None)
    reply_at: Mapped[float | None] = mapped_column(default=None)
    reply_text: Mapped[str | None] = mapped_column(Text, default=None)
    next_at: Mapped[float | None] = mapped_column(default=None, index=True)
    stage: Mapped[int] = mapped_column(Integer, default=0)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)


class Connection(Base):
    """A client's account on one channel (VK community, OK group, Telegram bot, SMS route)."""

    __tablename__ = "connections"
    __table_args__ = (UniqueConstraint("callback_token", name="uq_connections_callback_token"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    #: Channel settings including secrets (tokens, passwords): never logged or shown unmasked.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: `callback` (the platform pushes to /channels/...) or `longpoll` (the hub reads a stream).
    mode: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="ok")
    #: Where the long-poll reader resumes (VK ts, Telegram offset), saved after each committed batch.
    cursor: Mapped[str | None] = mapped_column(String(64), default=None)
    last_event_at: Mapped[float | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[float]
    updated_at: Mapped[float]
    deleted_at: Mapped[float | None] = mapped_column(default=None)
    #: The unguessable last segment of this connection's callback URL `/channels/{channel}/{token}`.
    callback_token: Mapped[str] = mapped_column(String(64))
    #: Addresses (CIDRs) the platform calls back from; None or empty: any address.
    ip_allowlist: Mapped[list[Any] | None] = mapped_column(JSON, default=None)


class ReaderLease(Base):
    """Which process reads a long-poll connection, and until when: renewed by its holder, taken over after."""

    __tablename__ = "reader_leases"
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[float]


class AuditEntry(Base):
    """Who did what to which client's things, from where; written in the action's own transaction."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_client", "client_id", "id"), Index("ix_audit_at", "at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float]
    #: `admin`, `client` or `agent`.
    actor_kind: Mapped[str] = mapped_column(String(16))
    #: The API key id (`key_...`), or `admin`/`cli` for the operator.
    actor_id: Mapped[str | None] = mapped_column(String(64), default=None)
    #: The key's or agent's name, or the web session's name.
    actor_name: Mapped[str | None] = mapped_column(String(200), default=None)
    #: The client the action concerns (no foreign key: the log outlives what it describes).
    client_id: Mapped[str | None] = mapped_column(String(32), default=None)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200), default=None)
    #: Never secrets or full phone numbers (see `hub.security.audit.scrub`).
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)


class LinkToken(Base):
    """A one-time deep-link token tying a messenger identity to one contact's phone (stored hashed)."""

    __tablename__ = "link_tokens"
    __table_args__ = (Index("ix_link_tokens_contact", "client_id", "contact_id"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: SHA-256 of the token; the token itself is only in the link given to the client.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    #: The connection the link points at; None for the sandbox.
    connection_id: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[float]
    expires_at: Mapped[float]
    used_at: Mapped[float | None] = mapped_column(default=None)
    #: The messenger identity that used it.
    used_by: Mapped[str | None] = mapped_column(String(64), default=None)


class Campaign(Base):
    """One template (or A/B variants) to an audience; its rules are kept as the client gave them."""

    __tablename__ = "campaigns"
    __table_args__ = (Index("ix_campaigns_client", "client_id", "created_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    #: scheduled -> running <-> paused; running -> finished; any but finished -> cancelled.
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    #: The request as validated: variants, audience, params, window, throttle, cap, route.
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    start_at: Mapped[float]
    created_at: Mapped[float]
    #: When the audience was frozen (None until then).
    started_at: Mapped[float | None] = mapped_column(default=None)
    finished_at: Mapped[float | None] = mapped_column(default=None)
    audience_size: Mapped[int | None] = mapped_column(Integer, default=None)


class CampaignRecipient(Base):
    """One contact of a frozen audience: skipped with a reason, or due and then queued once."""

    __tablename__ = "campaign_recipients"
    __table_args__ = (Index("ix_campaign_recipients_due", "status", "due_at"),)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    template_id: Mapped[str] = mapped_column(String(32))
    #: pending (waits for due_at), queued (a notification exists), skipped, cancelled.
    status: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[float | None] = mapped_column(default=None)
    skip_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    notification_id: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    #: A feeder holds the row until then while it queues the notification (a crashed one lets go).
    claimed_until: Mapped[float | None] = mapped_column(default=None)
