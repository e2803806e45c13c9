"""An expert's work survives normal use in Chromium: leaving the Realism Study and coming back,
following its Explorer link; and an admin loading a study file twice.

A studio of its own (fresh app store), so the answers given here never mix with other tests'.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from studio_browser import (
    StudioServer,
    attempt_user,
    checked_values,
    comment_on,
    current_item,
    rate,
    screenshot,
    serve_realism_studio,
    settle,
    sign_in,
)

from crm_core.store import AppUser, Draft, Rating, Response

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
    settle(page)
    for _attempt in range(5):  # a click that lands while the tab is still drawing opens no list
        page.locator(".st-key-study_file").click()
        try:
            page.get_by_role("option", name="realism.yaml").click(timeout=5_000)
            break
        except PlaywrightTimeoutError:
            continue
    expect(page.get_by_role("combobox", name="Study file")).to_have_value("realism.yaml")
    page.get_by_test_id("stFormSubmitButton").filter(has_text="Load study").click()
    settle(page)
    expect(page.get_by_text("Study realism is already loaded and unchanged")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, "admin-study-reloaded")


def submitted(server: StudioServer, username: str) -> list[tuple[int, int, str, int | None, str]]:
    """(item, version, dimension, value, label) of every stored rating of `username`."""
    engine = create_engine(server.app_url)
    with Session(engine) as session:
        rows = session.execute(
            select(Response.item_id, Response.version, Rating.dimension, Rating.value, Rating.label)
            .join(Rating.response)
            .join(AppUser, AppUser.id == Response.user_id)
            .where(AppUser.username == username)
            .order_by(Response.version, Rating.position)
        ).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def click_until_shown(page: Page, target: Locator, shown: Locator) -> None:
    """Click `target` until `shown` is visible, up to six times: a click that lands while a run
    redraws the page can be lost (for clicks whose repeat does no harm: opening an expander,
    Revise)."""
    for _attempt in range(6):
        if shown.is_visible():
            return
        target.click()
        try:
            expect(shown).to_be_visible(timeout=5_000)
            return
        except AssertionError:
            settle(page)
    expect(shown).to_be_visible()


def test_errors_stand_next_to_their_question_and_a_submitted_answer_can_be_revised(studio, context):
    eva = attempt_user(studio, "expert", "eva")  # a retry starts from no answers
    page = context.new_page()
    sign_in(page, studio, eva)
    open_study(page)
    item, dims = current_item(page)
    for dim in dims[1:]:
        rate(page, item, dim, 4)
    page.get_by_role("button", name="Submit").click()
    settle(page)
    # the message sits in the first question's block (after its comment), in words, not the dimension id
    first_comment = page.locator(f".st-key-comment-{item}-{dims[0]}")
    expect(first_comment.locator("xpath=following::*[@data-testid='stAlert'][1]")).to_contain_text("Choose a value")
    expect(page.get_by_text(re.compile(r"Not submitted yet: 1 question\(s\) need attention"))).to_be_visible()
    assert dims[0] not in page.get_by_test_id("stAlert").first.inner_text()
    screenshot(page, "expert-study-question-error")
    if "text_realism" in dims and dims[0] != "text_realism":
        page.locator(f".st-key-rate-{item}-text_realism").get_by_text("Not applicable", exact=True).click()
        settle(page)
    rate(page, item, dims[0], 5)
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("1 of 65 items answered")).to_be_visible()
    settle(page)
    first = submitted(studio, eva)
    assert {(row[0], row[1]) for row in first} == {(int(item), 1)}
    expected = {dim: 4 for dim in dims[1:]} | {dims[0]: 5}
    if "text_realism" in dims and dims[0] != "text_realism":
        expected["text_realism"] = None
    assert {dim: value for _i, _v, dim, value, _l in first} == expected

    # revise: the submitted values come back in the form; the change is stored as version 2
    revise = page.get_by_role("button", name="Revise")
    click_until_shown(page, page.get_by_text("Your submitted answers"), revise)
    click_until_shown(page, revise, page.get_by_text("You are revising your answer (version 1)"))
    settle(page)
    assert current_item(page)[0] == item
    assert checked_values(page, item, dims) == {dim: v for dim, v in expected.items()}
    rate(page, item, dims[0], 2)
    comment_on(page, item, dims[0], "On second look the dates are off.")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("1 of 65 items answered")).to_be_visible()
    for _ in range(60):  # the count read the same before the revision: wait for version 2 itself
        versions = submitted(studio, eva)
        if any(v == 2 for _i, v, *_rest in versions):
            break
        time.sleep(0.5)
    assert [(v, dim, value) for i, v, dim, value, _l in versions if dim == dims[0]] == [
        (1, dims[0], 5),
        (2, dims[0], 2),
    ]
    screenshot(page, "expert-study-after-revision")
