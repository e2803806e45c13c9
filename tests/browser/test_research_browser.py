"""Researchers in Chromium: Results over 3 models × 2 frameworks × 3 trials, Replay's filter and alignment.

The runs are made like ``python -m crm_core run`` with the offline models (oracle,
baseline:majority, baseline:random) in act and fc, three trials each, on a copy of the tiny org
with up to three instances per task; a workbench practice run of the majority baseline is added, which
Results must leave out until asked.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from studio_browser import PASSWORD, USERS, StudioServer, screenshot, serve_studio, settle, sign_in

from crm_core.agents.run_store import load_episodes
from crm_core.store import open_app_store
from tests.app.runs_org import empty_studio, record_run

pytestmark = pytest.mark.browser
MODELS = ("oracle", "baseline:majority", "baseline:random")
FRAMEWORKS = ("act", "fc")
TRIALS = 3
PRACTICE_RUN = "workbench-erin-0-feedbeef"


@pytest.fixture(scope="module")
def research_server(tmp_path_factory, tiny_org_url) -> Iterator[tuple[StudioServer, list]]:
    folder = tmp_path_factory.mktemp("research_server")
    studio = empty_studio(folder, tiny_org_url, USERS, PASSWORD, per_task=3)
    org_url, app_url, instances = studio.org_url, studio.app_url, studio.instances
    for model in MODELS:
        for framework in FRAMEWORKS:
            run_id = f"{model.replace(':', '-')}-{framework}"
            record_run(app_url, org_url, run_id, model, instances, framework=framework, trials=TRIALS)
    record_run(app_url, org_url, PRACTICE_RUN, "baseline:majority", instances[:2])
    with serve_studio(folder, org_url, app_url) as server:
        yield server, instances


def open_url(page: Page, server: StudioServer, path: str) -> None:
    page.goto(f"{server.base_url}/{path}")
    settle(page)


def table_rows(page: Page, index: int) -> list[list[str]]:
    """The cells of the index-th static table on the page (header row first)."""
    table = page.get_by_test_id("stTable").nth(index)
    expect(table).to_be_visible()
    return [[cell.strip() for cell in row.locator("th, td").all_inner_texts()] for row in table.locator("tr").all()]


def test_results_answer_which_system_is_best_per_task_with_intervals(research_server, context):
    server, instances = research_server
    page = context.new_page()
    sign_in(page, server, "rita", to="dashboard")
    expect(page.get_by_text("Best per task")).to_be_visible()
    best = table_rows(page, 0)
    header, body = best[0], best[1:]
    systems = [f"{m} · {f}" for m in MODELS for f in FRAMEWORKS]
    assert sorted(header[1:-1]) == sorted(systems) and header[-1] == "n", header
    rows = {row[0]: dict(zip(header[1:], row[1:], strict=True)) for row in body}
    tasks = sorted({i.task for i in instances})
    assert [name for name in rows if name in tasks] == tasks
    assert "overall" in rows
    interval = re.compile(r"^(★ )?(\d\.\d{3}) \[(\d\.\d\d), (\d\.\d\d)\]$")
    for name, cells in rows.items():
        if name in tasks:
            assert cells["n"] == str(sum(i.task == name for i in instances))
        values = {s: interval.match(cells[s]) for s in systems}
        assert all(values.values()), cells
        top = max(float(m.group(2)) for m in values.values())
        for system, match in values.items():
            low, mean, high = float(match.group(3)), float(match.group(2)), float(match.group(4))
            assert low <= mean + 0.005 and mean <= high + 0.005
            assert bool(match.group(1)) == (float(match.group(2)) == top), (name, system)  # ★ exactly on the best
        assert cells["oracle · act"].startswith("★ 1.000") and cells["oracle · fc"].startswith("★ 1.000")
    assert rows["overall"]["n"] == str(len(instances))
    assert f"on the {len(instances)} instances all 6 systems share" in page.get_by_test_id("stMain").inner_text()
    screenshot(page, "30-results-best-per-task")

    systems_table = {row[0]: row for row in table_rows(page, 1)[1:]}
    assert systems_table["baseline:majority · act"][1] == "1"  # one run: the practice run is left out
    passes = table_rows(page, 2)
    assert passes[0][:2] == ["task", "k"]
    ks = [row[1] for row in passes[1:] if row[0] == "overall"]
    assert ks == ["1", "2", "3"]  # k = 1 .. trials
    expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
    assert page.get_by_test_id("stPlotlyChart").count() == 3  # intervals, effort, pass^k curves
    if os.environ.get("CRM_SCREENSHOT_DIR"):
        page.get_by_test_id("stMain").screenshot()  # the tables render before the screenshot of the whole page
    screenshot(page, "31-results-full")

    page.get_by_text("Include workbench practice runs").click()
    # the practice run is pooled into its system: two more episodes on instances already shared
    expect(page.get_by_test_id("stMain")).to_contain_text("Runs: 7 of 7 compared")
    settle(page)
    systems_table = {row[0]: row for row in table_rows(page, 1)[1:]}
    assert systems_table["baseline:majority · act"][1:4] == ["2", str(len(instances)), str(len(instances) * 3 + 2)]
    assert f"on the {len(instances)} instances all 6 systems share" in page.get_by_test_id("stMain").inner_text()


def test_replay_filters_failed_instances_and_aligns_two_trajectories(research_server, context):
    server, _instances = research_server
    store = open_app_store(server.app_url)
    majority_run, random_run = "baseline-majority-act", "baseline-random-act"
    majority = load_episodes(store, majority_run)
    missed = {e.instance_idx for e in majority if e.reward < 1.0}
    solved = {e.instance_idx for e in majority} - missed
    failed = {e.instance_idx for e in load_episodes(store, random_run) if e.reward < 1.0}
    store.kw["bind"].dispose()
    assert missed and solved and failed, "the baselines solve some instances of the tiny org, not all"
    page = context.new_page()
    sign_in(page, server, "rita", to="replay")
    # the default run is a real agent run, not the workbench practice run made last
    expect(page.locator(".st-key-replay_run")).not_to_contain_text("workbench-")

    open_url(page, server, f"replay?run={majority_run}")
    page.get_by_text("Failed instances only").click()
    expect(page).to_have_url(re.compile(r"[?&]failed=1"))
    settle(page)
    picker = page.locator('[class*="st-key-replay_idx-"]')
    picker.click()
    options = page.get_by_role("option").all_inner_texts()  # the first ones (the list is virtual)
    shown = {int(re.match(r"#(\d+)", text).group(1)) for text in options}
    assert shown and shown <= missed, (options, missed)
    assert all("of 3 trials succeeded" in text and not text.endswith("3 of 3 trials succeeded") for text in options)
    page.keyboard.press("Escape")
    screenshot(page, "32-replay-failed-only")
    open_url(page, server, "replay?run=oracle-act&failed=1")
    expect(page.get_by_text("Every instance of run oracle-act succeeded")).to_be_visible()

    idx = min(failed)
    open_url(page, server, f"replay?run={random_run}&idx={idx}&cmp=run:oracle-act")
    expect(page.get_by_text("Aligned steps")).to_be_visible()
    aligned = table_rows(page, 0)
    assert aligned[0][0].startswith("baseline:random · act") and aligned[0][2].startswith("oracle · act")
    body = aligned[1:]
    # the random baseline answers at once; the oracle queries first: its queries sit beside "—",
    # and both answers share the last row, marked "=" (the same action)
    oracle_steps = len(body)
    assert oracle_steps > 1
    assert all(row[0] == "—" and row[1] == "" for row in body[:-1])
    assert body[-1][0].startswith("1 · respond") and body[-1][1] == "="
    assert body[-1][2].startswith(f"{oracle_steps} · respond")
    screenshot(page, "33-replay-aligned")
    # two runs that both query: choosing a step on the left selects its aligned step on the right
    open_url(page, server, f"replay?run=oracle-act&idx={idx}&cmp=run:oracle-fc")
    expect(page.get_by_text("Aligned steps")).to_be_visible()
    pairs = [row for row in table_rows(page, 0)[1:] if row[0] != "—" and row[2] != "—"]
    left, right = (int(pairs[-1][column].split(" · ")[0]) for column in (0, 2))
    assert left > 1 and right > 1  # both answer after querying: their answers are not step 1
    page.get_by_test_id("stRadio").nth(0).get_by_text(f"{left}. respond", exact=False).click()
    expect(page).to_have_url(re.compile(rf"[?&]step2={right}(&|$)"))
    expect(page.get_by_text(f"Step {right} of {right}")).to_be_visible()
    screenshot(page, "34-replay-aligned-answers")
    # a query's observation is a table, its size in the label
    open_url(page, server, f"replay?run=oracle-act&idx={idx}&step=1")
    expect(page.get_by_text(re.compile(r"Observation \(\d[\d,]* characters, \d[\d,]* records\)"))).to_be_visible()
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    page.get_by_test_id("stDataFrame").first.hover()  # scrolls to it (again if a rerun redrew it)
    screenshot(page, "35-replay-observation-table")
