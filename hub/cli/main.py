"""The `notifyhub` command line: serve, worker, demo, clients, templates, send, db upgrade, classify."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from hub.cli import connections, data, imports, report, security, templates
from hub.cli.runner import ConfigOption, JsonOption, config_from, friendly, prepare, run, with_hub
from nlu.cli import classify_command, nlu_app

app = typer.Typer(
    help="notifyhub: two-way business messaging hub.", no_args_is_help=True, add_completion=False
)
clients_app = typer.Typer(help="Manage clients (businesses).", no_args_is_help=True)
templates_app = typer.Typer(help="Submit and moderate templates.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(clients_app, name="clients")
app.add_typer(templates_app, name="templates")
app.add_typer(db_app, name="db")
agents_app = typer.Typer(help="Agent keys (answer threads for one client).", no_args_is_help=True)
app.add_typer(agents_app, name="agents")


@app.command()
@friendly
def serve(
    config_path: Path = ConfigOption,
    no_workers: bool = typer.Option(
        False, "--no-workers", help="Serve the API only; run `notifyhub worker` elsewhere."
    ),
    host: str | None = typer.Option(None, help="Override server.host."),
    port: int | None = typer.Option(None, help="Override server.port."),
) -> None:
    """Run the HTTP API (and the dispatcher, unless --no-workers) until SIGTERM/SIGINT.

    On the signal it stops listening, lets requests under way finish (`server.shutdown_grace`),
    then stops the workers the way `notifyhub worker` does.
    """
    from aiohttp import web

    from hub.api.app import create_app
    from hub.api.listener import BoundedSite, runner_options
    from hub.api.metrics import METRICS
    from hub.api.requests import HUB
    from hub.bootstrap import build_hub
    from hub.shutdown import drain, wait_for_signal
    from hub.startup import free_heap_returned, ready_for_traffic

    config = config_from(config_path)
    prepare(config)

    async def _serve() -> None:
        from hub.security.secrets import check_stored

        hub = build_hub(config)
        try:
            await check_stored(hub.uow)  # a wrong secret_key: one line now, not failures at first use
        except Exception:
            await hub.aclose()
            raise
        application = create_app(hub, run_workers=not no_workers)
        runner = web.AppRunner(application, **runner_options(config.server))
        ready_for_traffic(hub.ingest.replies)
        await runner.setup()
        where = (host or config.server.host, port or config.server.port)
        site = BoundedSite(runner, *where, config.server, reuse_port=config.server.reuse_port)
        await site.start()
        typer.echo(f"notifyhub listening on http://{host or config.server.host}:{port or config.server.port}")
        async with free_heap_returned():
            await wait_for_signal()
        await drain(runner, application[METRICS], config.server.shutdown_grace)
        await runner.cleanup()
        await application[HUB].aclose()

    run(_serve)


@app.command()
@friendly
def worker(
    config_path: Path = ConfigOption,
    concurrency: int | None = typer.Option(
        None, help="Dispatchers in this process (default dispatch.workers)."
    ),
    metrics_port: int | None = typer.Option(
        None, "--metrics-port", help="Serve this process's /metrics (asyncio tasks) on 127.0.0.1:PORT."
    ),
) -> None:
    """Run outbox workers (and channel readers) until SIGTERM/SIGINT, then exit 0.

    On the signal no more work is claimed; sends under way get `dispatch.shutdown_grace` seconds
    and the rest are handed back to other workers at once (no lease to wait out).
    """
    config = config_from(config_path)
    prepare(config)

    async def _work(hub: Any) -> None:
        from hub.api.metrics import serve_process_metrics
        from hub.security.secrets import check_stored
        from hub.shutdown import wait_for_signal
        from hub.startup import free_heap_returned, ready_for_traffic

        await check_stored(hub.uow)  # a wrong secret_key: one line now, not failures at first use
        ready_for_traffic(hub.ingest.replies)  # its channel readers file replies
        runner = await serve_process_metrics(metrics_port) if metrics_port is not None else None
        hub.start_workers(concurrency if concurrency is not None else max(1, config.dispatch.workers))
        typer.echo("notifyhub worker running; Ctrl-C to stop", err=True)
        async with free_heap_returned():
            await wait_for_signal()
        await hub.stop_workers()
        if runner is not None:
            await runner.cleanup()

    run(lambda: with_hub(config, _work))


@app.command()
@friendly
def demo(config_path: Path = ConfigOption) -> None:
    """Send a notification to every sandbox customer and show what happened to each."""
    from hub.cli.demo import run_demo
    from hub.log import setup_logging

    config = config_from(config_path)
    prepare(config)
    setup_logging("WARNING")  # the summary is the output; warnings still show
    run(lambda: run_demo(config))


@db_app.command("upgrade")
@friendly
def db_upgrade(config_path: Path = ConfigOption) -> None:
    """Create or migrate the database schema to the latest version."""
    from storage.migrate import upgrade

    config = config_from(config_path)
    upgrade(config.database.url)
    typer.echo("database is up to date")


@clients_app.command("create")
@friendly
def clients_create(name: str, config_path: Path = ConfigOption, as_json: bool = JsonOption) -> None:
    """Register a client and print its API key (shown only this once)."""
    from hub.security.accounts import create_client
    from hub.security.audit import CLI

    config = config_from(config_path)
    prepare(config)
    created = run(lambda: with_hub(config, lambda hub: create_client(hub.uow(), name, hub.clock.now(), CLI)))
    if as_json:
        typer.echo(json.dumps({"id": created.id, "name": created.name, "api_key": created.api_key}))
    else:
        typer.echo(f"client {created.name} created: id {created.id}")
        typer.echo(f"API key (shown once, store it now): {created.api_key}")


@clients_app.command("list")
@friendly
def clients_list(config_path: Path = ConfigOption, as_json: bool = JsonOption) -> None:
    """List clients."""
    config = config_from(config_path)
    prepare(config)

    async def _list(hub: Any) -> list[dict[str, Any]]:
        async with hub.uow() as uow:
            return [{"id": c.id, "name": c.name} for c in await uow.clients.list()]

    found = run(lambda: with_hub(config, _list))
    typer.echo(
        json.dumps(found) if as_json else "\n".join(f"{c['id']}  {c['name']}" for c in found) or "no clients"
    )


@agents_app.command("create")
@friendly
def agents_create(
    client: str = typer.Option(..., "--client", help="The client's name or id."),
    name: str = typer.Option(..., "--name", help="The agent's name (default assignee)."),
    config_path: Path = ConfigOption,
    as_json: bool = JsonOption,
) -> None:
    """Issue an agent key scoped to one client (shown only this once)."""
    from hub.security.accounts import create_agent
    from hub.security.audit import CLI

    config = config_from(config_path)
    prepare(config)
    made = run(
        lambda: with_hub(config, lambda hub: create_agent(hub.uow(), client, name, hub.clock.now(), CLI))
    )
    if as_json:
        typer.echo(json.dumps({"client_id": made.client_id, "name": made.name, "api_key": made.api_key}))
    else:
        typer.echo(f"agent {made.name} created for client {made.client_id}")
        typer.echo(f"API key (shown once, store it now): {made.api_key}")


templates.register(app, templates_app)
connections.register(app)
security.register(app, clients_app)
imports.register(app)
data.register(app, db_app)
report.register(app)
app.add_typer(nlu_app, name="nlu")
app.command("classify")(classify_command)


def main() -> None:
    """Entry point of the `notifyhub` script."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
