"""Identifiers and API keys: ids sort by creation time; keys are random and stored only hashed."""

from __future__ import annotations

import hashlib
import secrets

from storage.ids import new_id

__all__ = ["hash_key", "new_api_key", "new_id"]


def new_api_key() -> str:
    """A fresh secret API key, shown to the client exactly once."""
    return "nh_" + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The stored form of an API key (keys are high-entropy, so a plain SHA-256 suffices).

    Any text hashes, even undecodable header bytes (lone surrogates): such a key matches none.
    """
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
