"""Configuration: YAML defaults, environment overrides, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

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


def test_phones_are_normalised_and_masked() -> None:
    assert normalize_phone("8 (999) 000-00-01") == "+79990000001"
    with pytest.raises(RequestError):
        normalize_phone("12345")
    assert mask_phone("+79991234567") == "+7999***4567"
