"""Workflow tasks in Chromium: an expert changes the org in a sandbox of their own on the Task
Workbench, resets it, changes it again and is scored on the state; Trajectory Replay shows an
agent's per-step changes and its final changes beside the expected ones."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, text
from studio_browser import PASSWORD, USERS, StudioServer, choose, screenshot, serve_studio, settle, sign_in

from crm_core.store import open_app_store
from crm_core.studio.workbench import find_session, session_state
from crm_core.tasks.build import build_tasks
from tests.app.runs_org import empty_studio, record_run

pytestmark = pytest.mark.browser
ORACLE_FC = "oracle-fc-workflow"


@pytest.fixture(scope="module")
def workflow_server(tmp_path_factory, tiny_org_url) -> Iterator[tuple[StudioServer, list]]:
    """The studio over a tiny org with both suites built and the oracle's fc run on the workflow tasks."""
    folder = tmp_path_factory.mktemp("workflow_server")
    studio = empty_studio(folder, tiny_org_url, USERS, PASSWORD)
    workflow = build_tasks(studio.org_url, per_task=1, suite="workflow")
    record_run(studio.app_url, studio.org_url, ORACLE_FC, "oracle", workflow, framework="fc")
    with serve_studio(folder, studio.org_url, studio.app_url) as server:
        yield server, workflow


def open_url(page: Page, server: StudioServer, path: str) -> None:
    page.goto(f"{server.base_url}/{path}")
    settle(page)


def call_update(page: Page, contact_id: str, phone: str) -> None:
    """Call update_record from the Tools tab's form."""
    page.get_by_role("tab", name="Tools").click()
    choose(page, ".st-key-wb_tool", "update_record")
    choose(page, ".st-key-wb-arg-update_record-object", "Contact")
    page.locator(".st-key-wb-arg-update_record-id input").fill(contact_id)
    page.locator(".st-key-wb-arg-update_record-fields textarea").fill(f'{{"Phone": "{phone}"}}')
    page.get_by_role("button", name="Call tool").click()
    settle(page)


def org_phone(org_url: str, contact_id: str) -> str:
    engine = create_engine(org_url)
    with engine.connect() as conn:
        phone = conn.execute(text('SELECT "Phone" FROM "Contact" WHERE "Id" = :id'), {"id": contact_id}).scalar_one()
    engine.dispose()
    return phone


def test_an_expert_changes_resets_and_is_scored_on_the_state(workflow_server, context):
    server, instances = workflow_server
    instance = next(i for i in instances if i.task == "contact_phone_update")
    contact_id = instance.expected_diff.updated[0].id
    before = org_phone(server.org_url, contact_id)
    page = context.new_page()
    sign_in(page, server, "erin", to=f"workbench?idx={instance.idx}")
    expect(page.get_by_text(instance.query)).to_be_visible()
    expect(page.get_by_text(re.compile(r"Your changes so far \(0 changed fields"))).to_be_visible()

    call_update(page, contact_id, "(111) 555-0000")  # a wrong number first
    expect(page.get_by_text(re.compile(r"Your changes so far \(1 changed fields"))).to_be_visible()
    page.get_by_role("button", name="Reset my sandbox").click()
    settle(page)
    expect(page.get_by_text(re.compile(r"Your changes so far \(0 changed fields"))).to_be_visible()

    call_update(page, contact_id, instance.params["phone"])
    expect(page.get_by_text(re.compile(r"Your changes so far \(1 changed fields"))).to_be_visible()
    screenshot(page, "40-workbench-workflow-sandbox")
    assert org_phone(server.org_url, contact_id) == before  # the org itself never changes
    page.locator(".st-key-wb_answer input").fill("Done.")
    page.get_by_role("button", name="Submit answer").click()
    settle(page)
    expect(page.get_by_text("State match: F1 1.000")).to_be_visible()
    expect(page.get_by_text("Expected changes").first).to_be_visible()
    screenshot(page, "41-workbench-workflow-scored")

    store = open_app_store(server.app_url)
    with store() as session:
        row = find_session(session, "erin", instance.idx)
        assert row.reward == 1.0 and row.reward_normalized == 1.0
        assert session_state(row) == instance.expected_diff
        assert [step["name"] for step in row.steps] == ["update_record", "reset", "update_record"]
    store.kw["bind"].dispose()
    assert org_phone(server.org_url, contact_id) == before


def test_replay_shows_each_steps_changes_and_the_final_beside_the_expected(workflow_server, context):
    server, instances = workflow_server
    instance = next(i for i in instances if i.task == "order_quantity_correction")
    page = context.new_page()
    sign_in(page, server, "rita", to=f"replay?run={ORACLE_FC}&idx={instance.idx}")
    expect(page.get_by_text("State match: exact · F1 1.000")).to_be_visible()
    expect(page.get_by_text("Final changes")).to_be_visible()
    expect(page.get_by_text("Expected changes")).to_be_visible()
    steps = page.get_by_role("radiogroup")
    steps.get_by_text(re.compile(r"update_record")).first.click()
    settle(page)
    expect(page.get_by_text("Changes this step made")).to_be_visible()
    screenshot(page, "42-replay-workflow-changes")
