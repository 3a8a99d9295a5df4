"""Row identifiers: time-ordered, with a type prefix, made by the application rather than the database."""

from __future__ import annotations

import base64
import itertools
import os
import time

_counter = itertools.count(int.from_bytes(os.urandom(3), "big"))


def new_id(prefix: str) -> str:
    """A 26-character time-ordered id with a type prefix, e.g. `ntf_01hv...`.

    Ids made by one process within the same millisecond sort in creation order (a counter follows
    the timestamp), so messages stored in one transaction list in the order they were written.
    """
    seq = next(_counter) & 0xFFFFFFFF
    raw = int(time.time() * 1000).to_bytes(6, "big") + seq.to_bytes(4, "big") + os.urandom(6)
    return f"{prefix}_{base64.b32hexencode(raw).decode().lower().rstrip('=')}"
