"""Helpers of the browser tests: the studio server, signing in, settling, screenshots.

A module of its own (not conftest) so that tests import it by a name no other test folder uses;
``conftest.py`` holds the fixtures and re-exports these names.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page, expect

from crm_core.studio.startup import COOKIE_NAME

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "browser-pass-42"
USERS = {"erin": "expert", "rita": "researcher", "adam": "admin"}
STARTUP_SECONDS = 90


@dataclass
class StudioServer:
    """A running studio and the databases behind it."""

    base_url: str
    org_url: str
    app_url: str
    log: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().decode().strip() == "ok":
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"streamlit did not become healthy:\n{log.read_text()[-3000:]}")


@contextmanager
def serve_studio(folder: Path, org_url: str, app_url: str) -> Iterator[StudioServer]:
    """`streamlit run app.py` on these databases (secrets and log in `folder`) until the block ends."""
    port = _free_port()
    log = folder / "streamlit.log"
    env = os.environ | {
        "CRM_ORG_DB": org_url,
        "CRM_APP_DB": app_url,
        "CRM_SECRETS_FILE": str(folder / "secrets.toml"),
    }
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base_url, process, log)
        yield StudioServer(base_url=base_url, org_url=org_url, app_url=app_url, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def settle(page: Page) -> None:
    """Wait until the app has drawn and its script is not running."""
    page.wait_for_selector('[data-testid="stApp"]')
    page.wait_for_selector('[data-test-script-state="notRunning"]', state="attached")


def sign_in(page: Page, server: StudioServer, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form and wait for the signed-in app."""
    page.goto(server.base_url)
    settle(page)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    settle(page)
    # the sign-in cookie is written by a component in the browser: wait for it before navigating
    for _ in range(80):
        if any(cookie["name"] == COOKIE_NAME for cookie in page.context.cookies()):
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"the {COOKIE_NAME} cookie was never set")


def screenshot(page: Page, name: str) -> None:
    """Keep a screenshot when CRM_SCREENSHOT_DIR is set (for looking at the pages)."""
    folder = os.environ.get("CRM_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
