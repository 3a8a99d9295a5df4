"""A long-running process: ready before traffic (model loaded, start-up heap frozen), heap handed back."""

from __future__ import annotations

import asyncio
import gc

from hub.startup import ready_for_traffic, return_free_heap


class _Replies:
    def __init__(self) -> None:
        self.warmed = 0

    def warm(self) -> None:
        self.warmed += 1


def test_ready_for_traffic_warms_the_model_and_freezes_the_start_up_heap() -> None:
    replies = _Replies()
    gc.unfreeze()
    try:
        ready_for_traffic(replies)
        assert replies.warmed == 1
        assert gc.get_freeze_count() > 0  # full collections no longer walk what start-up made
    finally:
        gc.unfreeze()


async def test_free_heap_is_returned_periodically_until_stopped() -> None:
    calls: list[int] = []
    third_call = asyncio.Event()

    def trim(pad: int) -> int:
        calls.append(pad)
        if len(calls) == 3:
            third_call.set()
        return 1

    stop = asyncio.Event()
    task = asyncio.create_task(return_free_heap(stop, interval=0.01, trim=trim))
    try:
        await asyncio.wait_for(third_call.wait(), 60)  # a bound for a loop that stopped calling, not a timing
    finally:
        stop.set()
    await asyncio.wait_for(task, 5)  # it ends when told to
    assert calls[:3] == [0, 0, 0]
