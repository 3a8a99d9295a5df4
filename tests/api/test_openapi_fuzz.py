"""Schemathesis against /openapi.json on a live `notifyhub serve`: no 5xx, every answer as documented."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from benchmarks.live import free_port
from hub.api.openapi import openapi_document
from tests.conftest import ROOT

schema = schemathesis.openapi.from_dict(openapi_document())
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """A real server process on a fresh SQLite file, a client API key and a spare one for /v1/keys."""
    tmp = tmp_path_factory.mktemp("fuzz")
    port = free_port()
    env = dict(
        os.environ,
        NOTIFYHUB_DATABASE__URL=f"sqlite+aiosqlite:///{tmp / 'fuzz.db'}",
        NOTIFYHUB_SERVER__PORT=str(port),
        NOTIFYHUB_ADMIN_TOKEN="fuzz-admin",
        NOTIFYHUB_LOGGING__LEVEL="ERROR",
        NOTIFYHUB_SECURITY__RATE_LIMIT_BURST="1000000",  # 429 is documented, but would stop the fuzzing
        NOTIFYHUB_SERVER__AUTH_FAILURE_BURST="1000000",  # likewise for the wrong admin tokens it tries
    )
    cli = [sys.executable, "-m", "hub"]
    config = ["--config", str(ROOT / "config.yaml")]
    made = subprocess.run(
        [*cli, "clients", "create", "Fuzz", "--json", *config],
        env=env,
        cwd=tmp,
        check=True,
        capture_output=True,
    )
    key = json.loads(made.stdout)["api_key"]
    spare = [*cli, "clients", "create", "Fuzz keys", "--json", *config]  # /v1/keys may rotate its key away
    spare_key = json.loads(subprocess.run(spare, env=env, cwd=tmp, check=True, capture_output=True).stdout)
    with (tmp / "serve.log").open("wb") as log:
        server = subprocess.Popen([*cli, "serve", *config], env=env, cwd=tmp, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield base, key, spare_key["api_key"]
    finally:
        server.terminate()
        server.wait(20)


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_never_fails_and_answers_as_documented(
    case: schemathesis.Case, live: tuple[str, str, str]
) -> None:
    base, key, spare_key = live
    token = "fuzz-admin" if case.path.startswith("/v1/admin") else key
    token = spare_key if case.path.startswith("/v1/keys") else token
    case.call_and_validate(base_url=base, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
