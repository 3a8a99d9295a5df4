"""Configuration: YAML defaults, environment overrides, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from hub.config import load_config
from hub.contacts.phones import mask_phone, normalize_phone
from hub.errors import RequestError

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_are_sqlite_sandbox_and_port_8080() -> None:
    config = load_config(ROOT / "config.yaml", environ={})
    assert config.database.url.startswith("sqlite+aiosqlite")
    assert (config.server.host, config.server.port) == ("127.0.0.1", 8080)
    assert config.sandbox.enabled and {c.phone for c in config.sandbox.customers} >= {
        "+79990000001",
        "+79990000009",
    }


def test_environment_overrides_nested_keys() -> None:
    env = {
        "NOTIFYHUB_DATABASE__URL": "postgresql+asyncpg://h/db",
        "NOTIFYHUB_SERVER__PORT": "9090",
        "OTHER": "x",
    }
    config = load_config(ROOT / "config.yaml", environ=env)
    assert config.database.url == "postgresql+asyncpg://h/db" and config.server.port == 9090


def test_bad_values_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(RequestError, match=r"server\.port"):
        load_config(ROOT / "config.yaml", environ={"NOTIFYHUB_SERVER__PORT": "eighty"})
    bad = tmp_path / "c.yaml"
    bad.write_text("server: [1, 2\n")
    with pytest.raises(RequestError, match="not valid YAML"):
        load_config(bad, environ={})


def test_foreign_notifyhub_variables_are_ignored() -> None:
    env = {"NOTIFYHUB_TEST_PG_URL": "postgresql://x", "NOTIFYHUB_SERVERPORT": "1", "NOTIFYHUB_": "x"}
    config = load_config(ROOT / "config.yaml", environ=env)
    assert config.server.port == 8080 and config.database.url.startswith("sqlite+aiosqlite")


def test_a_typo_inside_an_owned_section_is_an_error() -> None:
    with pytest.raises(RequestError, match=r"configuration database\.urll: Extra inputs are not permitted$"):
        load_config(ROOT / "config.yaml", environ={"NOTIFYHUB_DATABASE__URLL": "sqlite+aiosqlite:///x.db"})


def test_environment_overrides_one_nested_key_and_keeps_the_files_others(tmp_path: Path) -> None:
    file = tmp_path / "c.yaml"
    file.write_text("server: {host: 0.0.0.0, port: 8181}\nwebhooks: {allowed_hosts: [a.example]}\n")
    env = {
        "NOTIFYHUB_SERVER__PORT": "9191",
        "NOTIFYHUB_WEBHOOKS__ALLOWED_NETWORKS": "10.0.0.0/8, fd00::/8",
        "NOTIFYHUB_CASCADE__PRICES": '{"vk": 1.5, "sms": 4}',
        "NOTIFYHUB_SANDBOX__CUSTOMERS": '[{"phone": "+79990000001", "vk": {"user_id": "1"}}]',
    }
    config = load_config(file, environ=env)
    assert (config.server.host, config.server.port) == ("0.0.0.0", 9191)
    assert config.webhooks.allowed_networks == ("10.0.0.0/8", "fd00::/8")
    assert config.webhooks.allowed_hosts == ("a.example",)
    assert config.cascade.prices == {"vk": 1.5, "sms": 4.0}
    assert config.sandbox.customers[0].vk is not None and config.sandbox.customers[0].vk.user_id == "1"


def test_secrets_are_secret_strings() -> None:
    env = {"NOTIFYHUB_ADMIN_TOKEN": "adm-1", "NOTIFYHUB_WEB__SESSION_SECRET": "ses-2"}
    config = load_config(ROOT / "config.yaml", environ=env)
    assert isinstance(config.admin_token, SecretStr) and isinstance(config.web.session_secret, SecretStr)
    assert config.admin_token.get_secret_value() == "adm-1"
    assert "adm-1" not in repr(config) and "ses-2" not in repr(config)
    empty = load_config(ROOT / "config.yaml", environ={"NOTIFYHUB_ADMIN_TOKEN": ""})
    assert empty.admin_token is None


def _cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`notifyhub ARGS` on a fresh SQLite database, with only the given NOTIFYHUB_* variables."""
    config = tmp_path / "hub.yaml"
    db = f"sqlite+aiosqlite:///{tmp_path}/hub.db"
    config.write_text(f"database: {{url: '{db}'}}\nsandbox: {{enabled: false}}\n")
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("NOTIFYHUB_")}
    command = [str(Path(sys.executable).with_name("notifyhub")), *args, "--config", str(config)]
    return subprocess.run(command, env=clean | env, capture_output=True, text=True, timeout=120)


def test_the_cli_ignores_a_foreign_notifyhub_variable(tmp_path: Path) -> None:
    done = _cli(tmp_path, "clients", "list", NOTIFYHUB_TEST_PG_URL="postgresql://x")
    assert (done.returncode, done.stdout.strip()) == (0, "no clients"), done.stderr


def test_the_cli_reports_a_bad_value_in_one_line(tmp_path: Path) -> None:
    for name, value, where in [
        ("NOTIFYHUB_SERVER__PORT", "eighty", "configuration server.port: "),
        ("NOTIFYHUB_CASCADE__DEFAULT_ROUTE", "[{", "configuration from the environment: "),
    ]:
        done = _cli(tmp_path, "clients", "list", **{name: value})
        assert done.returncode == 1 and done.stdout == ""
        assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"error: {where}"), done.stderr


def test_phones_are_normalised_and_masked() -> None:
    assert normalize_phone("8 (999) 000-00-01") == "+79990000001"
    with pytest.raises(RequestError):
        normalize_phone("12345")
    assert mask_phone("+79991234567") == "+7999***4567"
