"""Secrets at rest: channel tokens and webhook signing secrets are stored sealed, never in plain text.

A sealed value is `enc:v1:` followed by a Fernet token (AES-128-CBC + HMAC-SHA256). A value
without the prefix is legacy plain text: it still reads, and `notifyhub db encrypt-secrets`
seals it. Keys come from `secret_key` (`NOTIFYHUB_SECRET_KEY`): one or more comma-separated
Fernet keys; the first seals, every one opens (MultiFernet). To rotate, put the new key first
(`NEW,OLD`), run `notifyhub db encrypt-secrets`, then drop the old key.

Without a configured key, a SQLite database gets a key generated into `<database file>.key`
(mode 0600) beside it, so the embedded default needs no setup; PostgreSQL (production) refuses
to start. Repositories find the box in their session's `info` (put there by `hub.bootstrap.build_hub`).

    >>> box = SecretBox([new_key()])
    >>> box.open(box.seal("vk1.a.token")) == "vk1.a.token"
    True
"""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = logging.getLogger("notifyhub.secrets")

PREFIX = "enc:v1:"
#: Opened secrets remembered per box (endpoints and connections of one deployment: a few hundred).
OPENED_CACHE = 4096
#: Connection settings holding secrets: sealed in storage, masked when shown.
SECRET_SETTINGS = frozenset(
    {"token", "secret", "webhook_secret", "password", "callback_password", "callback_secret"}
)
#: Where `build_hub` puts the box in each session's `info`.
INFO_KEY = "notifyhub.secret_box"
_HELP = "set NOTIFYHUB_SECRET_KEY (make a key with `notifyhub db new-key`)"


class SecretKeyError(Exception):
    """The encryption keys are missing, malformed, or cannot open a stored secret."""


def new_key() -> str:
    """A fresh random Fernet key (32 bytes, url-safe base64)."""
    return Fernet.generate_key().decode()


class SecretBox:
    """Seals and opens secrets with a list of keys: the first seals, all open."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise SecretKeyError(f"no encryption key: {_HELP}")
        try:
            self._fernets = [Fernet(key.strip().encode()) for key in keys]
        except ValueError:
            raise SecretKeyError(
                f"secret_key: each key must be 32 url-safe base64-encoded bytes; {_HELP}"
            ) from None
        self._all = MultiFernet(self._fernets)
        #: Opened secrets by stored form: the reply path opens the same webhook secrets for every
        #: batch, and decrypting costs more than the rest of loading the endpoint. Bounded.
        self._opened: dict[str, str] = {}

    def seal(self, value: str) -> str:
        """The stored form of a secret, sealed with the first key."""
        return PREFIX + self._fernets[0].encrypt(value.encode()).decode()

    def open(self, stored: str) -> str:
        """The secret from its stored form; legacy plain text passes through unchanged."""
        if not stored.startswith(PREFIX):
            return stored
        known = self._opened.get(stored)
        if known is not None:
            return known
        try:
            opened = self._all.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            raise SecretKeyError(
                "a stored secret cannot be decrypted with the configured secret_key (wrong "
                "NOTIFYHUB_SECRET_KEY, or a lost <database>.key file? while rotating list both keys: NEW,OLD)"
            ) from None
        if len(self._opened) >= OPENED_CACHE:
            self._opened.clear()
        self._opened[stored] = opened
        return opened

    def is_current(self, stored: str) -> bool:
        """True when the value is sealed with the first key (nothing for `reseal` to do)."""
        if not stored.startswith(PREFIX):
            return False
        try:
            self._fernets[0].decrypt(stored[len(PREFIX) :].encode())
        except InvalidToken:
            return False
        return True

    def reseal(self, stored: str) -> str:
        """The value sealed with the first key: plain text sealed, old keys' tokens re-sealed."""
        return stored if self.is_current(stored) else self.seal(self.open(stored))

    def seal_settings(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Connection settings with every secret field sealed."""
        return {k: self.seal(v) if _secret(k, v) else v for k, v in settings.items()}

    def open_settings(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Connection settings with every secret field opened."""
        return {k: self.open(v) if _secret(k, v) else v for k, v in settings.items()}

    def reseal_settings(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Connection settings with every secret field sealed with the first key."""
        return {k: self.reseal(v) if _secret(k, v) else v for k, v in settings.items()}


def _secret(key: str, value: Any) -> bool:
    return key in SECRET_SETTINGS and isinstance(value, str) and bool(value)


def box_of(info: Mapping[str, Any]) -> SecretBox:
    """The box a session was configured with (see `hub.bootstrap.build_hub`)."""
    box = info.get(INFO_KEY)
    if not isinstance(box, SecretBox):
        raise SecretKeyError("this database session has no secret box (sessions come from build_hub)")
    return box


def box_for(secret_key: str, database_url: str) -> SecretBox:
    """The box for these comma-separated keys, else a key file beside a SQLite database."""
    keys = [k for k in secret_key.split(",") if k]
    path = _sqlite_path(database_url)
    key_file = Path(f"{path}.key") if path is not None else None
    if keys:
        if key_file is not None and key_file.exists():  # a key generated earlier still opens old rows
            keys.append(_read_key_file(key_file))
        return SecretBox(keys)
    if database_url.startswith("sqlite"):
        return SecretBox([_file_key(key_file) if key_file is not None else new_key()])
    raise SecretKeyError(f"secret_key is required on PostgreSQL (stored tokens are encrypted): {_HELP}")


def _sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL; None for other databases and in-memory SQLite."""
    if not url.startswith("sqlite") or ":///" not in url:
        return None
    name = url.split(":///", 1)[1].split("?", 1)[0]
    return None if name in ("", ":memory:") else Path(name)


def _file_key(path: Path) -> str:
    """Read the key beside the database, or create it (mode 0600, never overwritten)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key_file(path)
    key = new_key()
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(key + "\n")
    log.warning("generated the key that encrypts stored secrets: %s (back it up with the database)", path)
    return key


def _read_key_file(path: Path) -> str:
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s is readable by other users: chmod 600 it", path)
    for _ in range(50):  # another process may have just created it and not written it yet
        key = path.read_text(encoding="utf-8").strip()
        if key:
            return key
        time.sleep(0.02)
    raise SecretKeyError(f"{path} is empty: restore the key, or {_HELP}")
