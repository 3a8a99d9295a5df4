"""Delivery receipts that overtook their own submit_sm_resp, parked until the send records its id.

An SMSC may write a receipt (deliver_sm) before, or right behind, the submit_sm_resp that tells
us the message id; the receipt then names an id the channel has not recorded yet. Such a receipt
is parked here while a submit_sm is still under way, and released as soon as a send records one
of the ids it may refer to. The park is bounded: at most `limit` receipts, each for at most
`max_age` seconds (oldest out first), and it empties once no submit_sm is under way, since no
id can turn up any more. What leaves the park without a match is handed back as evicted, so the
channel can acknowledge it (and count it skipped) like any unknown receipt.

    park = EarlyReceipts(limit=2, max_age=10.0)
    park.park(pdu, ("1715004",), now=0.0)   # -> [] (nothing evicted)
    park.release("1715004")                  # -> [pdu]
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class _Parked(Generic[T]):
    item: T
    ids: tuple[str, ...]
    at: float


class EarlyReceipts(Generic[T]):
    """A bounded park of receipts keyed by the ids they may refer to."""

    def __init__(self, *, limit: int = 10_000, max_age: float = 30.0) -> None:
        if limit < 1 or max_age <= 0:
            raise ValueError("need limit >= 1 and max_age > 0")
        self.limit = limit
        self.max_age = max_age
        self._parked: OrderedDict[int, _Parked[T]] = OrderedDict()
        self._by_id: dict[str, list[int]] = {}
        self._serial = 0

    def __len__(self) -> int:
        return len(self._parked)

    def park(self, item: T, ids: Iterable[str], now: float) -> list[T]:
        """Keep `item` until one of `ids` is recorded; returns what had to make room (oldest first)."""
        self._serial += 1
        entry = _Parked(item, tuple(dict.fromkeys(ids)), now)
        self._parked[self._serial] = entry
        for external_id in entry.ids:
            self._by_id.setdefault(external_id, []).append(self._serial)
        evicted = []
        while len(self._parked) > self.limit:
            evicted.append(self._pop(next(iter(self._parked))))
        return evicted

    def release(self, external_id: str) -> list[T]:
        """The receipts waiting for `external_id`, removed from the park (arrival order)."""
        return [
            self._pop(serial) for serial in list(self._by_id.get(external_id, ())) if serial in self._parked
        ]

    def expire(self, now: float) -> list[T]:
        """Receipts parked longer than `max_age`, removed (oldest first)."""
        old = [serial for serial, entry in self._parked.items() if now - entry.at >= self.max_age]
        return [self._pop(serial) for serial in old]

    def next_expiry(self) -> float | None:
        """When the oldest parked receipt runs out, or None when the park is empty."""
        for entry in self._parked.values():
            return entry.at + self.max_age
        return None

    def clear(self) -> list[T]:
        """Everything parked, removed (oldest first): no send under way can match it any more."""
        return [self._pop(serial) for serial in list(self._parked)]

    def _pop(self, serial: int) -> T:
        entry = self._parked.pop(serial)
        for external_id in entry.ids:
            waiting = self._by_id.get(external_id, [])
            if serial in waiting:
                waiting.remove(serial)
            if not waiting:
                self._by_id.pop(external_id, None)
        return entry.item
