"""Browser fixtures: `streamlit run app.py` on a tiny org with users made by the library, and Chromium.

The server runs once per session (temporary CRM_ORG_DB, CRM_APP_DB and secrets file); each test
opens its own browser context, so cookies never leak between tests. Set CRM_SCREENSHOT_DIR to keep
screenshots of the pages the tests visit. Helpers live in :mod:`studio_browser`, which tests import
by that name (a name no other test folder uses, unlike ``conftest``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, expect, sync_playwright
from studio_browser import CHROMIUM, CHROMIUM_ARGS, StudioServer, serve_realism_studio


@pytest.fixture(scope="session")
def studio_server(tmp_path_factory, tiny_org_url) -> Iterator[StudioServer]:
    """`streamlit run app.py` over a tiny org, with an expert, a researcher, an admin and the realism study."""
    with serve_realism_studio(tmp_path_factory.mktemp("studio_server"), tiny_org_url) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium headless shell driven by Playwright (never `playwright install`), per module.

    Playwright's synchronous API keeps an asyncio loop running in the test thread while it is open,
    where `asyncio.run` fails; closed with its module, it leaves the xdist worker's next tests a
    thread without a running loop."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def context(browser) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) for one test."""
    made = browser.new_context(viewport={"width": 1400, "height": 1100}, accept_downloads=True)
    made.set_default_timeout(30_000)
    expect.set_options(timeout=30_000)
    yield made
    made.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests get two more tries on a failure.

    They wait on a real Streamlit server and Chromium; on a loaded 2-core machine a wait can run
    out while the page is still drawing. A real defect fails all three tries.
    """
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.flaky(reruns=2, reruns_delay=2))
