"""A fake SMSC speaking SMPP 3.4 over TCP, encoding and decoding with aiosmpplib's PDU classes.

Binds transceivers (checking system_id/password), answers submit_sm with a hex or decimal
message id (or an injected status, or never), answers enquire_link and unbind, and pushes
deliver_sm receipts and mobile-originated messages. Records every accepted submit_sm.

With `receipt_delay` set, every accepted submit_sm also gets a DELIVRD receipt (its id in
decimal) that many seconds after the submit_sm_resp; at 0 the receipt goes out in the same write,
right behind the response, and with `receipt_first` right before it (a fast SMSC whose receipt
overtakes its own response).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass
from datetime import datetime
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
    PhoneNumber,
    SmppCommand,
    SmppCommandStatus,
    SmppMessage,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
)

CLASSES: dict[SmppCommand, type[SmppMessage]] = {
    SmppCommand.BIND_TRANSCEIVER: BindTransceiver,
    SmppCommand.SUBMIT_SM: SubmitSm,
    SmppCommand.DELIVER_SM_RESP: DeliverSmResp,
    SmppCommand.ENQUIRE_LINK: EnquireLink,
    SmppCommand.ENQUIRE_LINK_RESP: EnquireLinkResp,
    SmppCommand.UNBIND: Unbind,
}


@dataclass
class Submitted:
    """One accepted submit_sm."""

    message_id: int
    destination: str
    source: str
    text: str
    encoding: str | None
    registered_delivery: int


class FakeSmsc:
    """`async with FakeSmsc() as smsc:` then point SmppConfig at smsc.port."""

    def __init__(
        self, *, system_id: str = "hub", password: str = "secret", id_format: Literal["hex", "dec"] = "hex"
    ) -> None:
        self.system_id = system_id
        self.password = password
        self.id_format = id_format
        self.submitted: list[Submitted] = []
        self.statuses: deque[SmppCommandStatus] = deque()
        self.hang_submits = False
        self.acked: list[int] = []
        self.enquire_links = 0
        self.binds = 0
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self._seq = 5000
        self._next_id = 0x1A2B3C
        self.port = 0
        #: Seconds from a submit_sm_resp to its automatic DELIVRD receipt; None sends none.
        self.receipt_delay: float | None = None
        #: Write a receipt due at once before the submit_sm_resp instead of after it.
        self.receipt_first = False
        self._later: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> FakeSmsc:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._later:
            task.cancel()
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def format_id(self, message_id: int) -> str:
        """How this SMSC writes ids in submit_sm_resp."""
        return f"{message_id:X}" if self.id_format == "hex" else str(message_id)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                head = await reader.readexactly(16)
                header = SmppMessage.parse_header(head)
                body = await reader.readexactly(header.pdu_length - 16)
                pdu = CLASSES[header.smpp_command].from_pdu(head + body, header, default_encoding="gsm0338")
                reply = self._answer(pdu)
                receipt = self._auto_receipt(reply)
                if receipt is not None and self.receipt_first:
                    writer.write(self._numbered(receipt).pdu())
                if reply is not None:
                    writer.write(reply.pdu())
                if receipt is not None and not self.receipt_first:
                    if self.receipt_delay:
                        task = asyncio.create_task(self._later_receipt(writer, receipt, self.receipt_delay))
                        self._later.add(task)
                        task.add_done_callback(self._later.discard)
                    else:
                        writer.write(self._numbered(receipt).pdu())
                await writer.drain()
                if isinstance(pdu, Unbind):
                    break
        writer.close()

    def _answer(self, pdu: SmppMessage) -> SmppMessage | None:
        seq = pdu.sequence_num
        if isinstance(pdu, BindTransceiver):
            self.binds += 1
            ok = pdu.system_id == self.system_id and pdu.password == self.password
            status = SmppCommandStatus.ESME_ROK if ok else SmppCommandStatus.ESME_RINVPASWD
            return BindTransceiverResp(sequence_num=seq, command_status=status, system_id="fakesmsc")
        if isinstance(pdu, SubmitSm) and not isinstance(pdu, DeliverSm):
            return self._submit(pdu)
        if isinstance(pdu, DeliverSmResp):
            self.acked.append(seq)
            return None
        if isinstance(pdu, EnquireLink):
            self.enquire_links += 1
            return EnquireLinkResp(sequence_num=seq)
        if isinstance(pdu, Unbind):
            return UnbindResp(sequence_num=seq)
        return None

    def _submit(self, pdu: SubmitSm) -> SmppMessage | None:
        if self.hang_submits:
            return None
        if self.statuses:
            return SubmitSmResp(sequence_num=pdu.sequence_num, command_status=self.statuses.popleft())
        self._next_id += 1
        text = pdu.short_message or pdu.message_payload
        self.submitted.append(
            Submitted(
                self._next_id,
                pdu.destination.number,
                pdu.source.number,
                text,
                pdu.encoding,
                pdu.registered_delivery,
            )
        )
        return SubmitSmResp(sequence_num=pdu.sequence_num, message_id=self.format_id(self._next_id))

    def _auto_receipt(self, reply: SmppMessage | None) -> DeliverSm | None:
        accepted = isinstance(reply, SubmitSmResp) and reply.command_status == SmppCommandStatus.ESME_ROK
        if self.receipt_delay is None or not accepted:
            return None
        return self.receipt(str(self.submitted[-1].message_id))

    async def _later_receipt(self, writer: asyncio.StreamWriter, receipt: DeliverSm, delay: float) -> None:
        await asyncio.sleep(delay)
        if not writer.is_closing():
            writer.write(self._numbered(receipt).pdu())
            with contextlib.suppress(ConnectionError):
                await writer.drain()

    def _numbered(self, pdu: DeliverSm) -> DeliverSm:
        self._seq += 1
        pdu.sequence_num = self._seq
        return pdu

    async def _push(self, pdu: DeliverSm) -> None:
        self._numbered(pdu)
        for writer in self._writers:
            if not writer.is_closing():
                writer.write(pdu.pdu())
                await writer.drain()

    async def send_receipt(self, receipt_id: str, stat: str = "DELIVRD", err: int = 0) -> None:
        """Push a delivery receipt whose id is written exactly as given."""
        await self._push(self.receipt(receipt_id, stat, err))

    def receipt(self, receipt_id: str, stat: str = "DELIVRD", err: int = 0) -> DeliverSm:
        """A delivery receipt deliver_sm (not numbered yet) whose id is written exactly as given."""
        now = datetime(2026, 1, 1, 12, 0)
        text = DeliverSm.encode_receipt(
            {
                "id": receipt_id,
                "sub": 1,
                "dlvrd": 1 if stat == "DELIVRD" else 0,
                "submit date": now,
                "done date": now,
                "stat": stat,
                "err": err,
                "text": "",
            }
        )
        return DeliverSm(
            short_message=text,
            source=PhoneNumber("79990000001", TON.INTERNATIONAL, NPI.ISDN),
            destination=PhoneNumber("NotifyHub"),
            esm_class=0b00000100,
            registered_delivery=0,
        )

    async def send_mo(self, source: str, text: str, to: str = "79001234567") -> None:
        """Push a mobile-originated message from `source` to the incoming number `to`."""
        encoding = None if text.isascii() else "ucs2"
        await self._push(
            DeliverSm(
                short_message=text,
                source=PhoneNumber(source, TON.INTERNATIONAL, NPI.ISDN),
                destination=PhoneNumber(to, TON.INTERNATIONAL, NPI.ISDN),
                encoding=encoding,
                registered_delivery=0,
            )
        )
