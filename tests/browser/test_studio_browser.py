"""The studio in Chromium: sign-in, role gating by URL, a rating session with a reload, export, Org Explorer."""

from __future__ import annotations

import csv
import io
import re
import time

import jwt
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session
from studio_browser import (
    PASSWORD,
    checked_values,
    comment_on,
    current_item,
    nav_titles,
    rate,
    returning_cookie,
    screenshot,
    settle,
    sign_in,
    sign_in_with_form,
)

from crm_core.store import Rating, Response, StudyItem
from crm_core.studio.startup import COOKIE_EXPIRY_DAYS, COOKIE_NAME

pytestmark = pytest.mark.browser


def heading_texts(page: Page) -> list[str]:
    return page.locator("h1").all_inner_texts()


def test_wrong_password_is_refused(studio_server, context):
    page = context.new_page()
    page.goto(studio_server.base_url)
    settle(page)
    page.get_by_role("textbox", name="Username").fill("erin")
    page.get_by_role("textbox", name="Password").fill(PASSWORD + "x")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("stAlert")).to_contain_text("Username or password is incorrect.")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    screenshot(page, "01-wrong-password")


def test_expert_cannot_open_researcher_or_admin_pages(studio_server, context):
    page = context.new_page()
    sign_in(page, studio_server, "erin")
    screenshot(page, "02-expert-home")
    links = nav_titles(page)
    assert "Org Explorer" in links and "Realism Study" in links
    assert "Export" not in links and "Admin" not in links
    # typing a URL opens the home page instead: an admin page's navigation path and a researcher
    # page's file name (the walk and the sweeps tests type the researchers' /dashboard and /sweeps)
    for path in ["manage", "export"]:
        page.goto(f"{studio_server.base_url}/{path}")
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        settle(page)
        expect(page.locator("h1").first).to_have_text("CRMArena Studio")
        assert "Admin" not in heading_texts(page) and "Export" not in heading_texts(page)
        expect(page.get_by_text("Add a user")).to_have_count(0)
        expect(page.get_by_text("Download CSV")).to_have_count(0)


def test_expert_rates_reloads_submits_and_researcher_exports_exactly_that(studio_server, context, browser):
    page = context.new_page()
    sign_in(page, studio_server, "erin", to="study")
    expect(page.locator("h1")).to_have_text("Realism Study")
    settle(page)
    submitted: dict[str, dict[str, int]] = {}

    # first item: rate half of it, reload mid-item, find the draft, finish and submit
    item, dims = current_item(page)
    first_half = {dim: 4 for dim in dims[: len(dims) // 2]}
    for dim, value in first_half.items():
        rate(page, item, dim, value)
    screenshot(page, "03-study-draft")
    page.reload()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()  # the cookie signs in again
    settle(page)
    expect(page.locator(f".st-key-rate-{item}-{dims[0]}")).to_be_visible()
    assert current_item(page)[0] == item
    assert checked_values(page, item, dims) == {dim: first_half.get(dim) for dim in dims}
    answers = {dim: first_half.get(dim, 5) for dim in dims}
    for dim in dims[len(dims) // 2 :]:
        rate(page, item, dim, answers[dim])
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("1 of 65 items answered")).to_be_visible()
    submitted[item] = answers
    settle(page)

    # second item: a low score needs a comment first
    item, dims = current_item(page)
    assert item not in submitted
    answers = {dim: 3 for dim in dims}
    answers[dims[0]] = 1
    for dim, value in answers.items():
        rate(page, item, dim, value)
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("A comment is required for 'Very unrealistic'.")).to_be_visible()
    comment_on(page, item, dims[0], "Every case was closed within a minute.")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("2 of 65 items answered")).to_be_visible()
    submitted[item] = answers
    screenshot(page, "04-study-after-submit")

    # the database holds exactly these two responses
    engine = create_engine(studio_server.app_url)
    with Session(engine) as session:
        stored = {
            (str(item_id), dim): value
            for item_id, dim, value in session.execute(
                select(Response.item_id, Rating.dimension, Rating.value).join(Rating.response)
            )
        }
        comments = session.scalars(select(Rating.comment).where(Rating.comment != "")).all()
        keys = {str(i.id): i.key for i in session.scalars(select(StudyItem))}
    engine.dispose()
    expected = {(item, dim): value for item, answers in submitted.items() for dim, value in answers.items()}
    assert stored == expected
    assert comments == ["Every case was closed within a minute."]

    # a researcher downloads the export in the browser: it holds exactly those responses
    researcher = browser.new_context(viewport={"width": 1400, "height": 1100}, accept_downloads=True)
    try:
        page = researcher.new_page()
        sign_in(page, studio_server, "rita", to="exports")
        expect(page.locator("h1")).to_have_text("Export")
        settle(page)
        screenshot(page, "05-export")
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Download CSV").click()
        data = download_info.value.path().read_text(encoding="utf-8")
    finally:
        researcher.close()
    rows = list(csv.DictReader(io.StringIO(data)))
    assert {(row["item_key"], row["dimension"]): int(row["value"]) for row in rows} == {
        (keys[item], dim): value for (item, dim), value in expected.items()
    }
    assert len(rows) == len(expected)
    assert {row["rater"] for row in rows} != {"erin"} and len({row["rater"] for row in rows}) == 1


def test_explorer_opens_a_case_follows_its_account_and_runs_soql(studio_server, context):
    engine = create_engine(studio_server.org_url)
    with engine.connect() as conn:
        case_id, case_number, account_id, account_name = conn.execute(
            text(
                'SELECT c."Id", c."CaseNumber", a."Id", a."Name" FROM "Case" c '
                'JOIN "Account" a ON a."Id" = c."AccountId" ORDER BY c."CaseNumber" LIMIT 1'
            )
        ).one()
    engine.dispose()

    page = context.new_page()
    sign_in(page, studio_server, "rita", to="explorer")
    expect(page.locator("h1")).to_have_text("Org Explorer")
    settle(page)
    screenshot(page, "06-explorer-table")
    page.get_by_role("textbox", name="Open a record by id").fill(case_id)
    page.get_by_test_id("stFormSubmitButton").filter(has_text="Open").click()
    expect(page.locator("h2").first).to_have_text(f"Case: {case_number}")
    settle(page)
    screenshot(page, "07-explorer-case")
    # a page link with help text is drawn twice (with and without its tooltip): either one works
    page.locator(".st-key-parent-AccountId a").first.click()
    expect(page.locator("h2").first).to_have_text(f"Account: {account_name}")
    expect(page).to_have_url(re.compile(rf"explorer\?.*id={account_id}"))
    settle(page)
    screenshot(page, "08-explorer-account")

    page.reload()  # the URL keeps the record
    expect(page.locator("h2").first).to_have_text(f"Account: {account_name}")

    page.goto(f"{studio_server.base_url}/explorer?view=console")
    expect(page.get_by_role("textbox", name="Query")).to_be_visible()
    settle(page)
    page.get_by_role("textbox", name="Query").fill(f"SELECT Id, Name FROM Account WHERE Id = '{account_id}'")
    page.get_by_test_id("stFormSubmitButton").filter(has_text="Run").click()
    expect(page.get_by_text("SOQL: totalSize = 1")).to_be_visible()
    settle(page)
    screenshot(page, "09-console-result")
    page.get_by_role("textbox", name="Query").fill("SELECT Foo FROM Account")
    page.get_by_test_id("stFormSubmitButton").filter(has_text="Run").click()
    expect(page.get_by_text("INVALID_FIELD")).to_be_visible()
    expect(page.get_by_text("No such column 'Foo' on entity 'Account'")).to_be_visible()
    screenshot(page, "10-console-error")


def test_the_sign_in_cookie_is_written_by_the_page_itself(studio_server, context):
    """A script in the page writes the cookie (strict, site-wide, for the configured days); no
    component frame is drawn, which would report the browser's cookies back and rerun the app after
    every page load."""
    page = context.new_page()
    sign_in_with_form(page, studio_server, "erin")
    (cookie,) = [cookie for cookie in context.cookies() if cookie["name"] == COOKIE_NAME]
    assert (cookie["path"], cookie["sameSite"], cookie["httpOnly"]) == ("/", "Strict", False)
    days_left = (cookie["expires"] - time.time()) / 86_400
    assert COOKIE_EXPIRY_DAYS - 0.1 < days_left <= COOKIE_EXPIRY_DAYS
    # the other browser tests start from returning_cookie's token: it must hold what this one holds
    claims = jwt.decode(cookie["value"], studio_server.cookie_key, algorithms=["HS256"])
    made = returning_cookie(studio_server, "erin")
    assert claims.keys() == jwt.decode(made["value"], studio_server.cookie_key, algorithms=["HS256"]).keys()
    assert claims["username"] == "erin" and abs(claims["exp_date"] - made["expires"]) < 600
    page.goto(f"{studio_server.base_url}/explorer")  # a returning browser: signed in by the cookie
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    settle(page)
    expect(page.locator("iframe")).to_have_count(0)


def test_sign_out_forgets_the_cookie(studio_server, context):
    page = context.new_page()
    sign_in_with_form(page, studio_server, "erin")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("textbox", name="Username")).to_be_visible()
    settle(page)
    page.reload()
    settle(page)
    expect(page.get_by_role("textbox", name="Username")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
