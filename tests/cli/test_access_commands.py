"""Issue 8 from the command line: key listing, rotation, revocation, access settings and the audit log."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hub.cli.main import app


def test_cli_keys_access_and_audit(tmp_path: Path) -> None:
    config = tmp_path / "hub.yaml"
    config.write_text(
        f"database: {{url: 'sqlite+aiosqlite:///{tmp_path / 'hub.db'}'}}\n"
        "sandbox: {enabled: false}\nlogging: {level: WARNING}\n"
    )
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, [*args, "--config", str(config)])
        assert result.exit_code == code, result.output
        return result.output

    created = json.loads(run("clients", "create", "Pizza Ltd", "--json"))
    [key] = json.loads(run("clients", "keys", "Pizza Ltd", "--json"))
    assert key["prefix"] == created["api_key"][:10] and created["api_key"] not in run(
        "clients", "keys", "Pizza Ltd"
    )
    rotated = json.loads(run("clients", "rotate-key", key["id"], "--overlap-hours", "2", "--json"))
    assert rotated["api_key"].startswith("nh_") and rotated["old_key"]["expires_at"]
    assert "shown once" in run("clients", "rotate-key", rotated["key"]["id"])
    assert "revoked" in run("clients", "revoke-key", key["id"])
    assert "is revoked or expired" in run("clients", "revoke-key", key["id"], code=1)
    spare = json.loads(run("clients", "new-key", "Pizza Ltd", "--name", "deploy", "--json"))
    assert spare["key"]["name"] == "deploy" and spare["key"]["prefix"] == spare["api_key"][:10]
    assert "203.0.113.0/24" in run("clients", "allow-ips", "Pizza Ltd", "203.0.113.0/24", "198.51.100.7")
    assert "allow-list: any" in run("clients", "allow-ips", "Pizza Ltd", "--any")
    assert "error: ip_allowlist" in run("clients", "allow-ips", "Pizza Ltd", "nope", code=1)
    assert "rate: 5/s burst 10" in run(
        "clients", "rate-limit", "Pizza Ltd", "--per-second", "5", "--burst", "10"
    )
    assert "rate: 5/s burst 10" in run("clients", "access", "Pizza Ltd")
    assert "rate: default" in run("clients", "rate-limit", "Pizza Ltd", "--default")
    page = json.loads(run("audit", "--client", "Pizza Ltd", "--json"))
    actions = [e["action"] for e in page["entries"]]
    assert actions == [
        "client.rate_limit_set",
        "client.rate_limit_set",
        "client.allowlist_set",
        "client.allowlist_set",
        "key.created",
        "key.revoked",
        "key.rotated",
        "key.rotated",
        "client.created",
    ]
    assert {e["actor"]["id"] for e in page["entries"]} == {"cli"}
    assert rotated["api_key"] not in json.dumps(page) and "key.rotated" in run(
        "audit", "--action", "key.rotated"
    )
