"""A real Chromium (Debian's package; Playwright drives it, it downloads nothing) against the hub."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, async_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _install_chromium() -> bool:
    """Install Debian's chromium (the test set-up does it once; Playwright itself downloads nothing)."""
    if os.path.exists(CHROMIUM):
        return True
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600)
    done = subprocess.run(
        ["apt-get", "install", "-y", "-qq", "chromium"], env=env, capture_output=True, timeout=900
    )
    return done.returncode == 0 and os.path.exists(CHROMIUM)


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of Debian's chromium, installed on first use where we may (root with apt-get)."""
    if not _install_chromium():
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs Debian's chromium for the browser tests and could not install it")
        pytest.skip("chromium is not installed and cannot be installed here (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Browser]:
    """Headless Chromium driven by Playwright."""
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=FLAGS)
        yield browser
        await browser.close()
