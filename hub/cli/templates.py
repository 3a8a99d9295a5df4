"""CLI commands for templates (submit, approve, reject, list) and for sending one notification."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from hub.api.schemas import Decision, NotifyIn, TemplateIn, invalid, parse
from hub.cli.runner import (
    ConfigOption,
    JsonOption,
    config_from,
    find_client,
    friendly,
    prepare,
    run,
    with_hub,
)
from hub.errors import RequestError


def _template_line(t: Any) -> str:
    reason = f" ({t.reason})" if t.reason else ""
    return f"{t.id}  {t.status:<9} {t.category:<13} {t.name}{reason}"


def register(app: typer.Typer, templates_app: typer.Typer) -> None:
    """Attach the commands to the CLI (called once by hub.cli)."""

    @templates_app.command("submit")
    @friendly
    def submit_cmd(
        client: str = typer.Option(..., "--client", help="Client name."),
        name: str = typer.Option(..., "--name"),
        text: str = typer.Option(..., "--text", help="Text with #placeholders#."),
        category: str = typer.Option(
            "service", "--category", help="otp, transactional, service or marketing."
        ),
        context: str | None = typer.Option(None, "--context", help="survey, promo, delivery, ..."),
        important: bool = typer.Option(False, "--important"),
        config_path: Path = ConfigOption,
        as_json: bool = JsonOption,
    ) -> None:
        """Submit a template; automatic checks run at once, then an operator decides."""
        from hub.delivery.moderation import submit, template_view

        body = parse(
            TemplateIn,
            {"name": name, "text": text, "category": category, "context": context, "important": important},
        )
        config = config_from(config_path)
        prepare(config)

        async def _do(hub: Any) -> Any:
            found = await find_client(hub, client)
            return await submit(hub.uow(), found.id, body, hub.clock.now())

        template = run(lambda: with_hub(config, _do))
        typer.echo(json.dumps(template_view(template)) if as_json else _template_line(template))

    def _decide(template_id: str, decision: Decision, config_path: Path, as_json: bool) -> None:
        from hub.delivery.moderation import decide, template_view
        from hub.security import audit

        config = config_from(config_path)
        prepare(config)

        async def _do(hub: Any) -> Any:
            uow = audit.moderation(hub.uow(), audit.CLI, template_id, decision, hub.clock.now())
            return await decide(uow, template_id, decision, hub.clock.now())

        template = run(lambda: with_hub(config, _do))
        typer.echo(json.dumps(template_view(template)) if as_json else _template_line(template))

    @templates_app.command("approve")
    @friendly
    def approve_cmd(template_id: str, config_path: Path = ConfigOption, as_json: bool = JsonOption) -> None:
        """Approve a pending template so it can be sent."""
        _decide(template_id, Decision(status="approved"), config_path, as_json)

    @templates_app.command("reject")
    @friendly
    def reject_cmd(
        template_id: str,
        reason: str = typer.Option(..., "--reason", help="Shown to the client."),
        config_path: Path = ConfigOption,
        as_json: bool = JsonOption,
    ) -> None:
        """Reject a template with a reason."""
        _decide(template_id, parse(Decision, {"status": "rejected", "reason": reason}), config_path, as_json)

    @templates_app.command("list")
    @friendly
    def list_cmd(
        status: str | None = typer.Option(None, "--status", help="pending, approved or rejected."),
        client: str | None = typer.Option(None, "--client"),
        config_path: Path = ConfigOption,
        as_json: bool = JsonOption,
    ) -> None:
        """List templates (all clients unless --client)."""
        from hub.delivery.moderation import template_view

        config = config_from(config_path)
        prepare(config)

        async def _do(hub: Any) -> list[Any]:
            client_id = (await find_client(hub, client)).id if client else None
            async with hub.uow() as uow:
                return list(await uow.templates.list(client_id, status))

        found = run(lambda: with_hub(config, _do))
        if as_json:
            typer.echo(json.dumps([template_view(t) for t in found]))
        else:
            typer.echo("\n".join(_template_line(t) for t in found) or "no templates")

    @app.command("send")
    @friendly
    def send_cmd(
        client: str = typer.Option(..., "--client", help="Client name."),
        template_id: str = typer.Option(..., "--template", help="Approved template id."),
        phone: str = typer.Option(..., "--phone"),
        param: list[str] = typer.Option([], "--param", help="name=value, repeatable."),
        idempotency_key: str | None = typer.Option(None, "--idempotency-key"),
        config_path: Path = ConfigOption,
        as_json: bool = JsonOption,
    ) -> None:
        """Queue one notification (the customer's action is taken to be now); workers deliver it."""
        from pydantic import ValidationError

        params = {}
        for item in param:
            key, sep, value = item.partition("=")
            if not sep:
                raise RequestError("bad_param", f"--param {item!r}: write name=value")
            params[key] = value
        data = {
            "to": {"phone": phone},
            "template_id": template_id,
            "params": params,
            "action_at": datetime.now(UTC),
        }
        if idempotency_key:
            data["idempotency_key"] = idempotency_key
        try:
            item_in = NotifyIn.model_validate(data)
        except ValidationError as e:
            raise invalid(e) from None
        config = config_from(config_path)
        prepare(config)

        async def _do(hub: Any) -> Any:
            found = await find_client(hub, client)
            [outcome] = await hub.acceptor.accept(hub.uow(), found, [item_in], hub.clock.now())
            if isinstance(outcome, RequestError):
                raise outcome
            return outcome

        outcome = run(lambda: with_hub(config, _do))
        typer.echo(
            json.dumps({"id": outcome.id, "status": outcome.status}) if as_json else f"queued {outcome.id}"
        )
