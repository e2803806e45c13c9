"""Studio part 2 in Chromium: the workbench's submit-then-compare flow, replay side by side, dashboard.

The server runs on a copy of the tiny org with a task set (one instance per task) and two runs
made like ``python -m crm_core run``: the oracle and ``baseline:random``, both in act.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from studio_browser import PASSWORD, USERS, StudioServer, screenshot, serve_studio, settle, sign_in

from crm_core.agents.run_store import load_episodes
from crm_core.store import open_app_store
from crm_core.studio.workbench import find_session
from tests.app.runs_org import BASELINE_RUN, ORACLE_RUN, build_runs_studio

pytestmark = pytest.mark.browser
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def runs_server(tmp_path_factory, tiny_org_url) -> Iterator[tuple[StudioServer, list]]:
    """`streamlit run app.py` over the runs studio."""
    folder = tmp_path_factory.mktemp("runs_server")
    studio = build_runs_studio(folder, tiny_org_url, USERS, PASSWORD)
    with serve_studio(folder, studio.org_url, studio.app_url) as server:
        yield server, studio.instances


def open_url(page: Page, server: StudioServer, path: str) -> None:
    page.goto(f"{server.base_url}/{path}")
    settle(page)


def printed_overall(app_url: str, run_id: str) -> str:
    """The overall score as `python -m crm_core score RUN_ID` prints it."""
    done = subprocess.run(
        [sys.executable, "-m", "crm_core", "score", run_id, "--app-db", app_url],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=os.environ | {"COLUMNS": "200", "PYTHONPATH": ROOT},
    )
    line = next(line for line in done.stdout.splitlines() if "overall (mean of tasks)" in line)
    return re.findall(r"\d\.\d{3}", line)[0]


def test_expert_submits_and_only_then_sees_the_agent(runs_server, context):
    server, instances = runs_server
    instance = next(i for i in instances if i.task == "transfer_count")
    page = context.new_page()
    sign_in(page, server, "erin", to=f"workbench?idx={instance.idx}")
    expect(page.get_by_text(instance.query)).to_be_visible()
    expect(page.get_by_text("The agent's run")).to_have_count(0)
    expect(page.get_by_text("Ground truth")).to_have_count(0)
    page.locator(".st-key-wb_query textarea").fill("SELECT Id, OldValue__c FROM CaseHistory__c LIMIT 5")
    page.get_by_role("button", name="Run query").click()
    expect(page.get_by_text("SOQL: 5 records")).to_be_visible()
    settle(page)
    screenshot(page, "20-workbench-before-submit")
    page.locator(".st-key-wb_answer input").fill("None")
    page.get_by_role("button", name="Submit answer").click()
    expect(page.get_by_text("The agent's run")).to_be_visible()
    expect(page.get_by_text("Ground truth")).to_be_visible()
    # Shown as "Name (id)" when the answer is a record id, so look for the id inside the line.
    expect(page.get_by_text(re.compile(rf"Correct answer: .*{re.escape(instance.answer_text)}"))).to_be_visible()
    settle(page)
    screenshot(page, "21-workbench-after-submit")

    store = open_app_store(server.app_url)
    with store() as session:
        row = find_session(session, "erin", instance.idx)
        assert row.answer == "None" and row.submitted_at is not None
        assert [step["arguments"]["query"] for step in row.steps] == [
            "SELECT Id, OldValue__c FROM CaseHistory__c LIMIT 5"
        ]
    store.kw["bind"].dispose()
    # a reload keeps the submitted state (stored, not in the browser session)
    page.reload()
    settle(page)
    expect(page.get_by_text("The agent's run")).to_be_visible()


def test_researcher_compares_oracle_and_baseline_and_reads_the_dashboard(runs_server, context):
    server, _instances = runs_server
    store = open_app_store(server.app_url)
    failed = next(e for e in load_episodes(store, BASELINE_RUN) if e.reward < 1.0)
    store.kw["bind"].dispose()
    page = context.new_page()
    sign_in(page, server, "rita", to=f"replay?run={BASELINE_RUN}&idx={failed.instance_idx}&cmp=run:{ORACLE_RUN}")
    headers = page.locator("h3").all_inner_texts()
    assert any(h.endswith(f"({BASELINE_RUN})") for h in headers) and any(h.endswith(f"({ORACLE_RUN})") for h in headers)
    page.get_by_role("button", name="Jump to first failed step").click()
    settle(page)
    expect(page.get_by_text("Step 1 of 1 · respond · failed")).to_be_visible()
    # ids read "Name (id)": the answer and the correct one name their records
    expect(
        page.get_by_text(re.compile(rf"Answer .*{re.escape(str(failed.answer))}.* · correct .*{failed.gold}"))
    ).to_be_visible()
    assert re.search(r"[?&]step=1(&|$)", page.url), page.url  # the URL keeps the selected step
    screenshot(page, "22-replay-side-by-side")

    open_url(page, server, "dashboard")
    expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
    assert page.get_by_test_id("stPlotlyChart").count() >= 3
    best = page.get_by_test_id("stTable").first
    expect(best).to_contain_text("★ 1.000")
    # the systems table: one run per system, its overall as `python -m crm_core score` prints it
    rows = page.get_by_test_id("stTable").nth(1).locator("tr").all()
    cells = {row.locator("th, td").first.inner_text().strip(): row.inner_text() for row in rows}
    for run_id, system in ((ORACLE_RUN, "oracle · act"), (BASELINE_RUN, "baseline:random · act")):
        assert f"{printed_overall(server.app_url, run_id)} [" in cells[system], cells
    screenshot(page, "23-dashboard")
