"""How a CLI command runs: its options, its configuration, its hub, and its errors as one line."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import typer
from sqlalchemy.exc import DBAPIError, OperationalError

from hub.config import Config, load_config
from hub.errors import USER_ERRORS, RequestError

ConfigOption = typer.Option(Path("config.yaml"), "--config", "-c", help="Configuration file.")
JsonOption = typer.Option(False, "--json", help="Print JSON instead of text.")
T = TypeVar("T")


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one clear line to stderr and give the exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def friendly(func: Callable[..., T]) -> Callable[..., T]:
    """Turn the hub's errors into one line on stderr and a non-zero exit, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return func(*args, **kwargs)
        except RequestError as e:
            raise fail(e.message) from None
        except USER_ERRORS as e:
            raise fail(str(e)) from None
        except (OperationalError, DBAPIError, OSError) as e:
            raise fail(f"database unavailable: {type(e).__name__}: {str(e).splitlines()[0]}") from None

    return wrapper


def config_from(path: Path) -> Config:
    """The configuration file a command was given (the default may be absent: built-in defaults)."""
    if path != Path("config.yaml") and not path.exists():
        raise RequestError("bad_config", f"{path}: no such configuration file")
    return load_config(path)


def prepare(config: Config) -> None:
    """Set up logging and, on the embedded SQLite default, bring the schema up to date."""
    from hub.log import setup_logging
    from storage.migrate import upgrade

    setup_logging(config.logging.level)
    if config.database.url.startswith("sqlite"):
        upgrade(config.database.url)


def run(coro: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run one command's async work to completion."""
    return asyncio.run(coro())


async def with_hub(config: Config, work: Callable[[Any], Awaitable[T]]) -> T:
    """Give `work` a wired hub and close it afterwards."""
    from hub.bootstrap import build_hub

    hub = build_hub(config)
    try:
        return await work(hub)
    finally:
        await hub.aclose()


async def find_client(hub: Any, name: str) -> Any:
    """The client a command names, or a `client_not_found` error."""
    async with hub.uow() as uow:
        client = await uow.clients.by_name(name)
    if client is None:
        raise RequestError(
            "client_not_found", f"no client named {name!r} (see `notifyhub clients list`)", status=404
        )
    return client
