"""Which adapter carries a client's message on a channel (the sandbox until connections exist)."""

from __future__ import annotations

from bots.base import BaseChannel
from hub.errors import ChannelRejected


class ChannelRouter:
    """Looks up the adapter for (client, channel); clients without connections use the sandbox."""

    def __init__(self, sandbox: dict[str, BaseChannel] | None = None) -> None:
        self._sandbox = sandbox or {}
        self._connections: dict[tuple[str, str], BaseChannel] = {}

    def connect(self, client_id: str, channel: str, adapter: BaseChannel) -> None:
        """Use `adapter` for this client's messages on `channel`."""
        self._connections[(client_id, channel)] = adapter

    def adapter(self, client_id: str, channel: str) -> BaseChannel:
        """The adapter for a leg, or `ChannelRejected` when the client has no way to use the channel."""
        found = self._connections.get((client_id, channel)) or self._sandbox.get(channel)
        if found is None:
            raise ChannelRejected("no connection for this channel", channel=channel, code="no_connection")
        return found

    def all(self) -> list[BaseChannel]:
        """Every adapter, for shutdown."""
        return [*self._sandbox.values(), *self._connections.values()]
