"""FakeChannel: a channel adapter that records what the platform did, in one journal shared by
several channels (so a test sees the order of a withdrawal and the next leg's send), and replays
queued outcomes.

Sends are deduplicated by leg key like VK's `random_id`: a resend returns the first answer and
the customer still has one message. `WorkerKilled` queued as an outcome stands for SIGKILL: it
is a BaseException, so nothing of the worker's round runs after it, and every further call of
that worker fails the same way until the test starts the next worker (`revive()`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from bots.base import BaseChannel, Channel, OutboundMessage, SendResult


class WorkerKilled(BaseException):
    """The worker process died here (SIGKILL): no handler, no record step."""


@dataclass(frozen=True)
class Done:
    """One thing the platform did: `send` or `withdraw` of a leg's message."""

    action: str
    channel: str
    leg_key: str


@dataclass
class Journal:
    """What every FakeChannel of a test did, in order."""

    entries: list[Done] = field(default_factory=list)

    def index(self, action: str, leg_key: str) -> int | None:
        """Where `action` on `leg_key` first happened, or None."""
        return next(
            (i for i, e in enumerate(self.entries) if (e.action, e.leg_key) == (action, leg_key)), None
        )

    def count(self, action: str, leg_key: str) -> int:
        """How many times `action` happened to `leg_key`."""
        return sum(1 for e in self.entries if (e.action, e.leg_key) == (action, leg_key))


class FakeChannel(BaseChannel):
    """Answers sends `sent` (or `status`) with ids `<name>-<n>`, withdrawals True, unless told otherwise."""

    def __init__(
        self,
        name: Channel,
        journal: Journal | None = None,
        *,
        status: str = "sent",
        can_withdraw: bool = True,
    ) -> None:
        self.name = name
        self.journal = journal or Journal()
        self.status = status
        self.can_withdraw = can_withdraw
        #: Queued withdraw answers: True, False (refused), or an exception to raise.
        self.withdraw_outcomes: deque[bool | BaseException] = deque()
        self.withdraw_calls = 0
        self.dead = False
        self._results: dict[str, SendResult] = {}

    def revive(self) -> None:
        """The next worker process calls from now on."""
        self.dead = False

    def _check_alive(self) -> None:
        if self.dead:
            raise WorkerKilled

    async def send(self, message: OutboundMessage) -> SendResult:
        """Record the message once per leg key; a resend gets the first answer."""
        self._check_alive()
        if message.leg_key not in self._results:
            status = "delivered" if self.status == "delivered" else "sent"
            result = SendResult(f"{self.name}-{len(self._results) + 1}", status)
            self._results[message.leg_key] = result
            self.journal.entries.append(Done("send", self.name, message.leg_key))
        return self._results[message.leg_key]

    async def withdraw(self, message: OutboundMessage, external_id: str) -> bool:
        """Replay the next queued outcome (True by default); record a withdrawal that happened."""
        self._check_alive()
        self.withdraw_calls += 1
        outcome = self.withdraw_outcomes.popleft() if self.withdraw_outcomes else True
        if isinstance(outcome, BaseException):
            self.dead = isinstance(outcome, WorkerKilled)
            raise outcome
        if outcome:
            self.journal.entries.append(Done("withdraw", self.name, message.leg_key))
        return outcome
