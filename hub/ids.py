"""Identifiers and API keys: ids sort by creation time; keys are random and stored only hashed."""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import secrets
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


def new_api_key() -> str:
    """A fresh secret API key, shown to the client exactly once."""
    return "nh_" + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The stored form of an API key (keys are high-entropy, so a plain SHA-256 suffices).

    Any text hashes, even undecodable header bytes (lone surrogates): such a key matches none.
    """
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
