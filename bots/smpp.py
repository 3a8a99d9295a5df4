"""An SMPP 3.4 client channel (bind_transceiver, submit_sm, deliver_sm, enquire_link).

aiosmpplib's PDU classes encode and decode; this module only moves PDUs over one TCP
connection. Delivery receipts ("id:... stat:DELIVRD err:000 ...") become `StatusEvent`s,
other deliver_sm PDUs become `InboundMessage`s (a reply to the incoming number). A deliver_sm
is acknowledged only when the consumer asks for the next batch, i.e. after the hub committed it.

SMSCs disagree on the base of message ids: submit_sm_resp may say "1A2B3C" (hex) while the
receipt says "id:1715004" (decimal). External ids are canonical decimal strings, and receipts
are matched by trying both bases (or the configured one). A receipt can overtake the
submit_sm_resp that tells us its id (a fast SMSC): while a submit_sm is under way, a receipt
naming no id we know is parked (`bots.early_receipts`, bounded by `early_receipt_limit` and
`early_receipt_seconds`) and released once the send records the id; it is acknowledged only
after that, or when it leaves the park unmatched.

    submit_sm_resp ESME_RTHROTTLED, ESME_RMSGQFUL, ESME_RSYSERR, network, timeout -> ChannelUnavailable
    ESME_RINVDSTADR, ESME_RINVDSTTON, ESME_RINVDSTNPI                             -> RecipientUnreachable
    bind refused (ESME_RINVPASWD, ESME_RINVSYSID, ESME_RBINDFAIL)                 -> ConnectionBroken
    other statuses                                                               -> ChannelRejected
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import re
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from aiosmpplib import (
    NPI,
    TON,
    BindTransceiver,
    BindTransceiverResp,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    PhoneNumber,
    SmppCommand,
    SmppCommandStatus,
    SmppMessage,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
)

from bots.backoff import BackoffConfig
from bots.base import BaseChannel, EventBatch, InboundMessage, OutboundMessage, SendResult, StatusEvent
from bots.early_receipts import EarlyReceipts
from bots.errors import (
    ChannelError,
    ChannelRejected,
    ChannelUnavailable,
    ConnectionBroken,
    RecipientUnreachable,
)
from bots.privacy import mask_phone
from bots.segments import encoding_for, segment_info, validate_sender

log = logging.getLogger("notifyhub.bots.smpp")

S = SmppCommandStatus
RETRY_STATUSES = frozenset({S.ESME_RTHROTTLED, S.ESME_RMSGQFUL, S.ESME_RSYSERR})
UNREACHABLE_STATUSES = frozenset({S.ESME_RINVDSTADR, S.ESME_RINVDSTTON, S.ESME_RINVDSTNPI})
BIND_STATUSES = frozenset({S.ESME_RINVPASWD, S.ESME_RINVSYSID, S.ESME_RBINDFAIL})
DELIVERED, FAILED = "DELIVRD", frozenset({"UNDELIV", "EXPIRED", "DELETED", "REJECTD", "UNKNOWN"})
PDU_CLASSES: dict[SmppCommand, type[SmppMessage]] = {
    SmppCommand.BIND_TRANSCEIVER_RESP: BindTransceiverResp,
    SmppCommand.SUBMIT_SM_RESP: SubmitSmResp,
    SmppCommand.DELIVER_SM: DeliverSm,
    SmppCommand.ENQUIRE_LINK: EnquireLink,
    SmppCommand.ENQUIRE_LINK_RESP: EnquireLinkResp,
    SmppCommand.UNBIND: Unbind,
    SmppCommand.UNBIND_RESP: UnbindResp,
    SmppCommand.GENERIC_NACK: GenericNack,
}
_RECEIPT_FIELD = re.compile(r"(id|sub|dlvrd|submit date|done date|stat|err|text):(\S*)", re.IGNORECASE)


@dataclass(frozen=True)
class SmppConfig:
    """One SMPP route; the password never appears in repr."""

    host: str
    port: int
    system_id: str
    password: str = field(repr=False)
    sender: str = "NotifyHub"
    name: str = "smpp"
    system_type: str = ""
    #: Base of ids in submit_sm_resp (16 for most SMSCs).
    submit_id_base: Literal[10, 16] = 16
    #: Base of ids in receipts; None = try both against the ids this client submitted.
    receipt_id_base: Literal[10, 16] | None = None
    enquire_link_interval: float = 30.0
    timeout: float = 10.0
    backoff: BackoffConfig = field(default_factory=BackoffConfig)
    #: Receipts that overtook their submit_sm_resp, kept at most this many ...
    early_receipt_limit: int = 10_000
    #: ... for at most this many seconds (a submit_sm is answered or timed out well before).
    early_receipt_seconds: float = 30.0

    def __post_init__(self) -> None:
        validate_sender(self.sender)
        if self.early_receipt_limit < 1 or self.early_receipt_seconds <= 0:
            raise ValueError("early_receipt_limit must be >= 1 and early_receipt_seconds > 0")


@dataclass(frozen=True)
class Receipt:
    """The fields of a delivery receipt text the hub needs."""

    message_id: str
    stat: str
    err: str


def parse_receipt(text: str) -> Receipt | None:
    """Parse "id:... sub:... stat:DELIVRD err:000 ..."; None when id or stat is missing."""
    fields = {key.lower(): value for key, value in _RECEIPT_FIELD.findall(text)}
    if not fields.get("id") or not fields.get("stat"):
        return None
    return Receipt(fields["id"], fields["stat"].upper(), fields.get("err", ""))


def canonical_id(raw: str, base: int) -> str:
    """An SMSC message id as a decimal string; non-numeric ids are kept (lower-cased)."""
    try:
        return str(int(raw.strip(), base))
    except ValueError:
        return raw.strip().lower()


def receipt_candidates(raw: str) -> tuple[str, str]:
    """The external ids a receipt's id may stand for: read as decimal, then as hex."""
    return canonical_id(raw, 10), canonical_id(raw, 16)


def receipt_external_id(raw: str, config: SmppConfig, known: OrderedDict[str, None] | set[str]) -> str | None:
    """The external id a receipt refers to, or None when it matches nothing this client sent."""
    if config.receipt_id_base is not None:
        return canonical_id(raw, config.receipt_id_base)
    return next((c for c in receipt_candidates(raw) if c in known), None)


def deliver_sm_event(
    pdu: DeliverSm,
    config: SmppConfig,
    known: OrderedDict[str, None] | set[str],
    connection_id: int | None = None,
) -> StatusEvent | InboundMessage | None:
    """A receipt or a mobile-originated message from one deliver_sm; None to skip it."""
    text = pdu.short_message or pdu.message_payload
    if not pdu.is_receipt():
        return _mo_message(pdu, text, connection_id)
    receipt = parse_receipt(text)
    external_id = receipt_external_id(receipt.message_id, config, known) if receipt else None
    if receipt is None or external_id is None:
        log.warning(
            "skipped receipt route=%s: %s", config.name, "unparsable" if receipt is None else "unknown id"
        )
        return None
    now = datetime.now(UTC)
    if receipt.stat == DELIVERED:
        return StatusEvent("sms", external_id, "delivered", now)
    if receipt.stat in FAILED:
        return StatusEvent("sms", external_id, "failed", now, error=f"{receipt.stat}:{receipt.err}")
    return None  # ENROUTE, ACCEPTD: not final


def _mo_message(pdu: DeliverSm, text: str, connection_id: int | None) -> InboundMessage:
    phone = "+" + pdu.source.number.lstrip("+")
    now = datetime.now(UTC)
    #: SMPP gives MO messages no id: same sender, number, text and minute count as one message.
    key = f"{phone}|{pdu.destination.number}|{text}|{now:%Y%m%d%H%M}"
    external_id = "mo:" + hashlib.sha256(key.encode()).hexdigest()[:24]
    return InboundMessage("sms", phone, text, external_id, now, connection_id=connection_id, phone=phone)


def map_status(status: SmppCommandStatus, what: str) -> ChannelError:
    """The hub error for a non-OK SMPP command status."""
    text = f"{what}: {status.name}"
    if status in RETRY_STATUSES:
        return ChannelUnavailable(text, channel="sms", code=status.name, retry_after=1.0)
    if status in UNREACHABLE_STATUSES:
        return RecipientUnreachable(text, channel="sms", code=status.name)
    if status in BIND_STATUSES:
        return ConnectionBroken(text, channel="sms", code=status.name)
    return ChannelRejected(text, channel="sms", code=status.name)


class SmppChannel(BaseChannel):
    """SMS over one SMPP transceiver session, connecting (and reconnecting) on demand."""

    name = "sms"

    def __init__(
        self, config: SmppConfig, *, connection_id: int | None = None, memory: int = 100_000
    ) -> None:
        self.config = config
        self.connection_id = connection_id
        self._memory = memory
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._pending: dict[int, asyncio.Future[SmppMessage]] = {}
        self._seq = itertools.count(1)
        self._connect_lock = asyncio.Lock()
        #: deliver_sm PDUs to hand out, each with whether it may still be parked (see `_event`).
        self._inbox: asyncio.Queue[tuple[DeliverSm, bool]] = asyncio.Queue()
        self._closing = False
        #: Canonical ids submitted through this session, for matching receipts of either base.
        self.submitted: OrderedDict[str, None] = OrderedDict()
        #: Receipts that arrived before their submit_sm_resp was recorded.
        self.early: EarlyReceipts[DeliverSm] = EarlyReceipts(
            limit=config.early_receipt_limit, max_age=config.early_receipt_seconds
        )
        self._submitting = 0
        #: deliver_sm PDUs skipped (unknown receipt, unparsable).
        self.skipped = 0

    async def connect(self) -> None:
        """Open the TCP connection and bind as a transceiver (once; reconnects after a loss)."""
        async with self._connect_lock:
            if self._writer is not None and not self._writer.is_closing():
                return
            await self._open()

    async def _open(self) -> None:
        c = self.config
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(c.host, c.port), c.timeout
            )
        except (OSError, TimeoutError) as e:
            raise ChannelUnavailable(f"{c.name}: connect {type(e).__name__}", channel="sms") from e
        self._tasks = [asyncio.create_task(self._read_loop()), asyncio.create_task(self._enquire_loop())]
        bind = BindTransceiver(system_id=c.system_id, password=c.password, system_type=c.system_type)
        resp = await self._request(bind)
        if resp.command_status != S.ESME_ROK:
            await self._drop()
            raise map_status(resp.command_status, "bind_transceiver")
        log.info("bound route=%s system_id=%s", c.name, c.system_id)

    async def send(self, message: OutboundMessage) -> SendResult:
        """submit_sm with a delivery receipt requested; units = segments."""
        await self.connect()
        self._submitting += 1
        try:
            resp = await self._request(self._submit_sm(message))
            if resp.command_status != S.ESME_ROK or not isinstance(resp, SubmitSmResp):
                raise map_status(resp.command_status, "submit_sm")
            external_id = canonical_id(resp.message_id, self.config.submit_id_base)
            self._record(external_id)
        finally:
            self._submitting -= 1
            if not self._submitting:  # no id can turn up any more: let the parked ones go
                self._requeue(self.early.clear())
        log.info(
            "sent route=%s leg=%s to=%s id=%s",
            self.config.name,
            message.leg_key,
            mask_phone(message.recipient),
            external_id,
        )
        return SendResult(external_id=external_id, units=segment_info(message.text).segments)

    def _record(self, external_id: str) -> None:
        """Remember a submitted id, and hand out the receipts that arrived before it."""
        self.submitted[external_id] = None
        while len(self.submitted) > self._memory:
            self.submitted.popitem(last=False)
        self._requeue(self.early.release(external_id))

    def _requeue(self, pdus: list[DeliverSm]) -> None:
        """Back to the event stream, never to be parked again (matched now, or skipped)."""
        for pdu in pdus:
            self._inbox.put_nowait((pdu, False))

    def _submit_sm(self, message: OutboundMessage) -> SubmitSm:
        sender = self.config.sender
        source_ton = TON.INTERNATIONAL if sender.lstrip("+").isdigit() else TON.ALPHANUMERIC
        info = segment_info(message.text)
        text_field = (
            {"short_message": message.text} if info.segments == 1 else {"message_payload": message.text}
        )
        return SubmitSm(
            source=PhoneNumber(
                sender.lstrip("+"), source_ton, NPI.ISDN if source_ton == TON.INTERNATIONAL else NPI.UNKNOWN
            ),
            destination=PhoneNumber(message.recipient.lstrip("+"), TON.INTERNATIONAL, NPI.ISDN),
            registered_delivery=1,
            encoding="ucs2" if encoding_for(message.text) == "ucs2" else None,
            log_id=message.leg_key[:64],
            **text_field,
        )

    async def _request(self, pdu: SmppMessage) -> SmppMessage:
        pdu.sequence_num = next(self._seq)
        future: asyncio.Future[SmppMessage] = asyncio.get_running_loop().create_future()
        self._pending[pdu.sequence_num] = future
        try:
            await self._write(pdu)
            return await asyncio.wait_for(future, self.config.timeout)
        except TimeoutError as e:
            raise ChannelUnavailable(f"{self.config.name}: no response", channel="sms") from e
        finally:
            self._pending.pop(pdu.sequence_num, None)

    async def _write(self, pdu: SmppMessage) -> None:
        if self._writer is None or self._writer.is_closing():
            raise ChannelUnavailable(f"{self.config.name}: not connected", channel="sms")
        try:
            self._writer.write(pdu.pdu())
            await self._writer.drain()
        except OSError as e:
            raise ChannelUnavailable(f"{self.config.name}: write {type(e).__name__}", channel="sms") from e

    async def _read_loop(self) -> None:
        assert self._reader is not None
        try:
            while True:
                await self._dispatch(await _read_pdu(self._reader))
        except (asyncio.IncompleteReadError, OSError, ValueError) as e:
            level = logging.DEBUG if self._closing else logging.WARNING
            log.log(level, "connection lost route=%s: %r", self.config.name, e)
        finally:
            self._fail_pending()
            if self._writer is not None:
                self._writer.close()

    async def _dispatch(self, pdu: SmppMessage) -> None:
        if isinstance(pdu, DeliverSm):
            await self._inbox.put((pdu, True))
        elif isinstance(pdu, EnquireLink):
            await self._write(EnquireLinkResp(sequence_num=pdu.sequence_num))
        elif isinstance(pdu, Unbind):
            await self._write(UnbindResp(sequence_num=pdu.sequence_num))
        elif (future := self._pending.get(pdu.sequence_num)) is not None and not future.done():
            future.set_result(pdu)

    def _fail_pending(self) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(
                    ChannelUnavailable(f"{self.config.name}: connection lost", channel="sms")
                )

    async def _enquire_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.enquire_link_interval)
            try:
                await self._request(EnquireLink())
            except ChannelUnavailable as e:
                log.warning("enquire_link failed route=%s: %s", self.config.name, e)
                if self._writer is not None:
                    self._writer.close()
                return

    async def events(self, cursor: str | None = None) -> AsyncIterator[EventBatch]:
        """Receipts and MO messages; each deliver_sm is acknowledged after its batch is committed.

        A parked receipt is acknowledged once it comes out of the park, with its batch.
        """
        await self.connect()
        loop = asyncio.get_running_loop()
        while True:
            items = await self._next_items()
            items += [(pdu, False) for pdu in self.early.expire(loop.time())]
            events: list[StatusEvent | InboundMessage] = []
            acks: list[DeliverSm] = []
            for pdu, may_park in items:
                if may_park and self._park(pdu, loop.time()):
                    continue
                acks.append(pdu)
                if (event := self._event(pdu)) is not None:
                    events.append(event)
            if not acks:
                continue
            yield EventBatch(events=list(events), cursor=None)
            for pdu in acks:
                await self._write(DeliverSmResp(sequence_num=pdu.sequence_num))

    async def _next_items(self) -> list[tuple[DeliverSm, bool]]:
        """What arrived (waiting for something, or until the oldest parked receipt runs out)."""
        items = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout_at(self.early.next_expiry()):
                items.append(await self._inbox.get())
        while not self._inbox.empty():
            items.append(self._inbox.get_nowait())
        return items

    def _park(self, pdu: DeliverSm, now: float) -> bool:
        """Park a receipt naming an id not recorded yet while a submit_sm is under way."""
        if not self._submitting or self.config.receipt_id_base is not None or not pdu.is_receipt():
            return False
        receipt = parse_receipt(pdu.short_message or pdu.message_payload)
        if receipt is None or receipt_external_id(receipt.message_id, self.config, self.submitted):
            return False
        self._requeue(self.early.park(pdu, receipt_candidates(receipt.message_id), now))
        log.debug("receipt parked route=%s: its submit_sm_resp is not recorded yet", self.config.name)
        return True

    def _event(self, pdu: DeliverSm) -> StatusEvent | InboundMessage | None:
        event = deliver_sm_event(pdu, self.config, self.submitted, self.connection_id)
        if event is None and pdu.is_receipt():
            self.skipped += 1
        return event

    async def aclose(self) -> None:
        """Unbind politely, then close the connection and stop background tasks."""
        self._closing = True
        if self._writer is not None and not self._writer.is_closing():
            with contextlib.suppress(ChannelError, TimeoutError):
                await asyncio.wait_for(self._request(Unbind()), 1.0)
        await self._drop()

    async def _drop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
            self._writer = None


async def _read_pdu(reader: asyncio.StreamReader) -> SmppMessage:
    """Read one PDU and decode it with aiosmpplib (ValueError for an unsupported command)."""
    head = await reader.readexactly(16)
    header = SmppMessage.parse_header(head)
    body = await reader.readexactly(header.pdu_length - 16)
    cls = PDU_CLASSES.get(header.smpp_command)
    if cls is None:
        raise ValueError(f"unsupported PDU {header.smpp_command.name}")
    return cls.from_pdu(head + body, header, default_encoding="gsm0338")
