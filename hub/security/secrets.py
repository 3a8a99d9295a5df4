"""Secrets at rest, the hub's side: the box for a configuration, and resealing what is stored.

The sealing itself lives in `storage.secret_box` (repositories seal and open with it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from hub.config import Config
from storage import secret_box
from storage.secret_box import SecretBox
from storage.uow import UnitOfWork

log = logging.getLogger("notifyhub.secrets")


def box_for(config: Config) -> SecretBox:
    """The box for this configuration: configured keys, else a key file beside a SQLite database."""
    keys = config.secret_key.get_secret_value() if config.secret_key else ""
    return secret_box.box_for(keys, config.database.url)


@dataclass(frozen=True)
class Resealed:
    """What `reseal_stored` changed (or, in a dry run, would change)."""

    connections: int
    webhooks: int
    current: int

    def __str__(self) -> str:
        return (
            f"{self.connections} connection(s) and {self.webhooks} webhook endpoint(s) sealed "
            f"with the current key; {self.current} already current"
        )


async def reseal_stored(uow: Callable[[], UnitOfWork], *, dry_run: bool = False) -> Resealed:
    """Seal every stored secret with the first key (legacy plain text and older keys alike)."""
    async with uow() as work:
        connections, current = await work.connections.reseal_secrets(dry_run)
        webhooks, more = await work.webhooks.reseal_secrets(dry_run)
        if not dry_run:
            await work.commit()
    return Resealed(connections, webhooks, current + more)


async def check_stored(uow: Callable[[], UnitOfWork]) -> None:
    """Fail fast (at start-up) when the keys cannot open a stored secret; warn about unsealed ones."""
    found = await reseal_stored(uow, dry_run=True)
    if found.connections or found.webhooks:
        log.warning(
            "%d connection(s) and %d webhook endpoint(s) hold secrets in plain text or under an old "
            "key: run `notifyhub db encrypt-secrets`",
            found.connections,
            found.webhooks,
        )
