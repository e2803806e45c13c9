"""Helpers of the browser tests: the studio server, signing in, settling, screenshots.

A module of its own (not conftest) so that tests import it by a name no other test folder uses;
``conftest.py`` holds the fixtures; tests import these names from here.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import jwt
from playwright.sync_api import Cookie, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from crm_core.store import open_app_store
from crm_core.studies import load_study
from crm_core.studio.startup import COOKIE_EXPIRY_DAYS, COOKIE_NAME, cookie_key
from crm_core.users import add_user

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium-headless-shell"  # Chromium built for headless use, as Playwright runs it
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
    cookie_key: str
    """The key the studio signs its sign-in cookies with (from its secrets file)."""


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
def serve_studio(folder: Path, org_url: str, app_url: str, app_dir: Path = ROOT) -> Iterator[StudioServer]:
    """`streamlit run app.py` (of `app_dir`) on these databases (secrets and log in `folder`) until the block ends."""
    port = _free_port()
    log = folder / "streamlit.log"
    key = cookie_key(folder / "secrets.toml")  # written before the studio starts, which reads it
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
        process = subprocess.Popen(command, cwd=app_dir, env=env, stdout=out, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base_url, process, log)
        yield StudioServer(base_url=base_url, org_url=org_url, app_url=app_url, log=log, cookie_key=key)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def serve_realism_studio(folder: Path, org_url: str) -> Iterator[StudioServer]:
    """The studio over `org_url` with a fresh app store: the users of USERS and the realism study loaded."""
    app_url = f"sqlite:///{folder / 'app.db'}"
    sessions = open_app_store(app_url)
    with sessions() as session:
        for username, role in USERS.items():
            add_user(session, username, role, PASSWORD)
        load_study(session, ROOT / "studies" / "realism.yaml", org_url)
    sessions.kw["bind"].dispose()
    with serve_studio(folder, org_url, app_url) as server:
        yield server


def settle(page: Page) -> None:
    """Wait until the app has drawn and its script is not running."""
    page.wait_for_selector('[data-testid="stApp"]')
    page.wait_for_selector('[data-test-script-state="notRunning"]', state="attached")


WATCH_SCRIPT_STATE = """() => {
    if (!window.scriptStatesWatched) {
        window.scriptStatesWatched = true;
        const record = changes => changes.forEach(c => window.scriptStates.push(c.target.dataset.testScriptState));
        const watched = {attributes: true, subtree: true, attributeFilter: ['data-test-script-state']};
        new MutationObserver(record).observe(document.body, watched);
    }
    window.scriptStates = [];
}"""
"""Records each change of the app's script state from now on (`window.scriptStates`), to see that a run happened."""


def click_and_settle(page: Page, target: Locator, started_within_ms: int = 5_000) -> None:
    """Click `target` (a link of the sidebar, say, whose click starts a run) and wait until that run has ended.

    :func:`settle` right after a click can return before the click's run has started (the page still
    shows its last run as over), and a second click then may land during that run or replace it.
    A click that starts no run (a value already chosen) only costs `started_within_ms`.
    """
    page.evaluate(WATCH_SCRIPT_STATE)
    target.click()
    with suppress(PlaywrightTimeoutError):  # no run, or one too short to be seen
        page.wait_for_function("window.scriptStates.includes('running')", timeout=started_within_ms)
    settle(page)


def returning_cookie(server: StudioServer, username: str) -> Cookie:
    """The sign-in cookie the studio gives `username` at sign-in, as a returning browser holds it.

    The token is the authentication library's (its `username` and `exp_date` claims, HS256 with
    the studio's cookie key); the studio checks it as it checks any browser's cookie.
    """
    expires = time.time() + COOKIE_EXPIRY_DAYS * 24 * 3600
    token = jwt.encode({"username": username, "exp_date": expires}, server.cookie_key, algorithm="HS256")
    return {"name": COOKIE_NAME, "value": token, "url": server.base_url, "expires": expires, "sameSite": "Strict"}


def sign_in(page: Page, server: StudioServer, username: str, to: str = "") -> None:
    """Open the page at path `to` (Home by default) signed in as `username`.

    The browser holds the cookie a sign-in leaves (:func:`returning_cookie`), as a returning
    person's browser does: one page load instead of three. The form itself has tests of its own,
    which use :func:`sign_in_with_form`.
    """
    page.context.add_cookies([returning_cookie(server, username)])
    page.goto(f"{server.base_url}/{to}")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    settle(page)


def sign_in_with_form(page: Page, server: StudioServer, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form and wait for the signed-in app and its cookie."""
    page.goto(server.base_url)
    settle(page)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    settle(page)
    # the sign-in cookie is written by a script in the page: wait for it before navigating
    for _ in range(200):
        if any(cookie["name"] == COOKIE_NAME for cookie in page.context.cookies()):
            break
        page.wait_for_timeout(100)
    else:
        raise AssertionError(f"the {COOKIE_NAME} cookie was never set")


def nav_titles(page: Page) -> list[str]:
    """The titles of the sidebar's page links, without their icons (a Material icon's text is its name).

    Waits for the links: the navigation may be drawn after the page, and drawn again by a rerun."""
    titles = page.wait_for_function(
        """() => {
            const titles = [...document.querySelectorAll('[data-testid="stSidebarNavLink"]')].map(link => {
                const title = link.cloneNode(true);
                title.querySelectorAll('[data-testid="stIconMaterial"]').forEach(icon => icon.remove());
                return title.textContent.trim();
            });
            return titles.length ? titles : null;
        }""",
        polling=100,
    )
    return titles.json_value()


SETTLE_BOX = """async element => {
    const still = async () => {  // the same place for 12 frames in a row (at most 3 s)
        const until = performance.now() + 3000;
        let last = '', same = 0;
        while (same < 12 && performance.now() < until) {
            await new Promise(requestAnimationFrame);
            const r = element.getBoundingClientRect(), now = `${r.top},${r.left},${r.height}`;
            same = now === last ? same + 1 : 0;
            last = now;
        }
    };
    await still();
    element.scrollIntoView({block: 'center', behavior: 'instant'});
    await still();
}"""
"""Waits until `element` has stopped moving (an expander opening around it grows for a moment,
starting a frame or two after the click), scrolls it to the middle of the window at once (not
smoothly), and waits again."""


def choose(page: Page, selectbox: str, option: str) -> None:
    """Pick an option of a select box as a person does: type to narrow the list, click the option.

    Typing alone is not a choice: the box's input then holds the search text, and Enter pressed
    before the narrowed list is drawn commits the highlighted first option instead. The option list
    is virtual (long ones are not all drawn), hence the typing; a tool the task needs is starred.

    The list closes when the page scrolls, so nothing should move while it is open: first the box
    stops moving (an expander opened by the previous click grows for a moment, from a frame or two
    after the click), then it is scrolled to the middle of the window, so that its list opens in
    sight below it (at the window's bottom edge the list opened out of sight, and clicking an option
    there scrolled the page). Even so, the focus of a box in a just-opened expander sometimes
    scrolls the page once more (about 20 ms after the list opened, closing it 40 ms later): as a
    person would, the whole choice is tried again, up to three times.
    """
    box = page.locator(f"{selectbox} input")
    wanted = page.get_by_role("option", name=re.compile(rf"^(★ )?{re.escape(option)}$"))
    for attempt in range(1, 4):
        box.evaluate(SETTLE_BOX)
        box.click()
        try:
            page.get_by_role("option").first.wait_for(timeout=3_000)
            page.keyboard.type(option)
            wanted.click(timeout=5_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 3:
                raise
            page.keyboard.press("Escape")  # closes the list if open; the next click types anew
            box.fill("")
    settle(page)


def attempt_user(server: StudioServer, role: str, prefix: str) -> str:
    """A user of this test attempt's own (signs in with PASSWORD): a retry starts from nothing stored."""
    username = f"{prefix}{uuid.uuid4().hex[:8]}"
    sessions = open_app_store(server.app_url)
    with sessions() as session:
        add_user(session, username, role, PASSWORD)
    sessions.kw["bind"].dispose()
    return username


def screenshot(page: Page, name: str) -> None:
    """Keep a screenshot when CRM_SCREENSHOT_DIR is set (for looking at the pages)."""
    folder = os.environ.get("CRM_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


# --- the rating form (Realism Study, Task Workbench) ---------------------------------------------


def current_item(page: Page) -> tuple[str, list[str]]:
    """The item id on screen and its dimensions, read from the radio groups' key classes.

    While a rerun draws, the previous item's groups may still stand beside the new one's (Streamlit
    removes stale elements when the script ends): wait up to 30 s for one item only."""
    expect(page.locator('[class*="st-key-rate-"]').first).to_be_visible()
    deadline = time.monotonic() + 30
    while True:
        classes = page.locator('[class*="st-key-rate-"]').evaluate_all("els => els.map(e => e.className)")
        keys = [re.search(r"st-key-rate-(\d+)-([a-z_]+)", c).groups() for c in classes]
        item_ids = {item for item, _ in keys}
        if len(item_ids) == 1 or time.monotonic() > deadline:
            break
        page.wait_for_timeout(200)
    assert len(item_ids) == 1, keys
    return item_ids.pop(), [dim for _, dim in keys]


def rate(page: Page, item: str, dimension: str, value: int) -> None:
    """Click `value` on the dimension's scale and wait for the autosave."""
    group = page.locator(f".st-key-rate-{item}-{dimension}")
    group.get_by_text(re.compile(rf"^{value} · ")).click()
    expect(group.get_by_role("radio", checked=True)).to_have_count(1)
    expect(page.get_by_text("Draft saved")).to_be_visible()
    settle(page)


def comment_on(page: Page, item: str, dimension: str, text: str) -> None:
    """Type a comment on the dimension and commit it (Ctrl+Enter saves it)."""
    comment = page.locator(f".st-key-comment-{item}-{dimension} textarea")
    comment.fill(text)
    comment.press("Control+Enter")
    settle(page)


def checked_values(page: Page, item: str, dimensions: list[str]) -> dict[str, int | None]:
    """The value checked in each dimension's radio group (None when none is)."""
    values: dict[str, int | None] = {}
    for dim in dimensions:
        group = page.locator(f".st-key-rate-{item}-{dim}")
        checked = [v for v in range(1, 6) if group.get_by_role("radio", name=re.compile(rf"^{v} · ")).is_checked()]
        values[dim] = checked[0] if len(checked) == 1 else None
    return values
