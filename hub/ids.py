"""Identifiers and API keys: ids sort by creation time; keys are random and stored only hashed."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import time


def new_id(prefix: str) -> str:
    """A 26-character time-ordered id with a type prefix, e.g. `ntf_01hv...`."""
    raw = int(time.time() * 1000).to_bytes(6, "big") + os.urandom(10)
    return f"{prefix}_{base64.b32hexencode(raw).decode().lower().rstrip('=')}"


def new_api_key() -> str:
    """A fresh secret API key, shown to the client exactly once."""
    return "nh_" + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The stored form of an API key (keys are high-entropy, so a plain SHA-256 suffices)."""
    return hashlib.sha256(key.encode()).hexdigest()
