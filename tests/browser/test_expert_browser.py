"""An expert's work survives normal use in Chromium: leaving the Realism Study and coming back,
following its Explorer link; and an admin loading a study file twice.

A studio of its own (fresh app store), so the answers given here never mix with other tests'.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from studio_browser import (
    StudioServer,
    checked_values,
    current_item,
    rate,
    screenshot,
    serve_realism_studio,
    settle,
    sign_in,
)

from crm_core.store import AppUser, Draft

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def studio(tmp_path_factory, tiny_org_url) -> Iterator[StudioServer]:
    with serve_realism_studio(tmp_path_factory.mktemp("expert_studio"), tiny_org_url) as server:
        yield server


def stored_draft(server: StudioServer, username: str, item: str, expected: dict[str, int]) -> dict[str, int]:
    """The draft's values in the app store, once they equal `expected` (the save follows the click)."""
    engine = create_engine(server.app_url)
    try:
        for _ in range(60):
            with Session(engine) as session:
                values = session.scalar(
                    select(Draft.values).join(AppUser).where(Draft.item_id == int(item), AppUser.username == username)
                )
            if values == expected:
                break
            time.sleep(0.5)
    finally:
        engine.dispose()
    return values


def open_study(page: Page) -> None:
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Realism Study").click()
    expect(page.locator("h1")).to_have_text("Realism Study")
    settle(page)


def test_ratings_survive_leaving_the_study_and_following_its_explorer_link(studio, context):
    page = context.new_page()
    sign_in(page, studio, "erin")
    open_study(page)
    item, dims = current_item(page)
    given = {dims[0]: 4, dims[1]: 3}
    for dim, value in given.items():
        rate(page, item, dim, value)
    assert stored_draft(studio, "erin", item, given) == given

    # away through the sidebar and back: the scales show the stored draft
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Org Explorer").click()
    expect(page.locator("h1")).to_have_text("Org Explorer")
    settle(page)
    open_study(page)
    assert current_item(page)[0] == item
    assert checked_values(page, item, dims) == {dim: given.get(dim) for dim in dims}

    # the next click adds to the draft instead of replacing it
    rate(page, item, dims[2], 5)
    assert stored_draft(studio, "erin", item, given | {dims[2]: 5}) == given | {dims[2]: 5}

    # the Explorer link opens a new tab; the study stays where it was in this one
    study_url = page.url
    with context.expect_page() as opened:
        page.get_by_role("link", name=re.compile("Open in the Org Explorer")).first.click()
    explorer = opened.value
    explorer.wait_for_load_state()
    settle(explorer)
    expect(explorer.locator("h1")).to_have_text("Org Explorer")
    assert "explorer" in explorer.url
    screenshot(explorer, "expert-explorer-from-study")
    assert page.url == study_url
    assert checked_values(page, item, dims) == {dim: (given | {dims[2]: 5}).get(dim) for dim in dims}
    explorer.close()

    # a reload of the study, too, finds all three
    page.reload()
    settle(page)
    assert checked_values(page, item, dims) == {dim: (given | {dims[2]: 5}).get(dim) for dim in dims}
    screenshot(page, "expert-study-draft-restored")


def test_admin_loading_a_study_file_again_is_told_it_is_unchanged(studio, context):
    page = context.new_page()
    sign_in(page, studio, "adam")
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Admin").click()
    expect(page.locator("h1")).to_have_text("Admin")
    settle(page)
    page.get_by_role("tab", name="Studies").click()
    page.locator(".st-key-study_file").click()
    page.get_by_role("option", name="realism.yaml").click()
    page.get_by_test_id("stFormSubmitButton").filter(has_text="Load study").click()
    settle(page)
    expect(page.get_by_text("Study realism is already loaded and unchanged")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, "admin-study-reloaded")
