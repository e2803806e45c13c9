"""The Sweeps page in Chromium: a researcher starts a sweep, goes to another page and back, and
sees it progress and finish; the sweep runs in a process of its own meanwhile."""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from studio_browser import (
    PASSWORD,
    USERS,
    WATCH_SCRIPT_STATE,
    StudioServer,
    attempt_user,
    choose,
    screenshot,
    serve_studio,
    settle,
    sign_in,
)

from crm_core.agents.run_store import list_runs
from crm_core.db import sqlite_path
from crm_core.store import open_app_store
from crm_core.studio.sweeps import REFRESH_SECONDS
from crm_core.sweeps.store import list_sweeps, sweep_status
from crm_core.tasks.build import build_tasks
from crm_core.tasks.records import load_tasks
from crm_core.tasks.registry import task_names
from crm_core.users import add_user
from tests.agents.openai_server import Reply, openai_server

pytestmark = pytest.mark.browser


def slow_answer(body):
    """A model that answers after 0.4 s, so the sweep takes a few seconds."""
    if body.get("tools"):
        return Reply(tool_calls=[("respond", json.dumps({"content": "None"}))], delay_s=0.4)
    return Reply(content="<respond>None</respond>", delay_s=0.4)


MODEL_MAY_ANSWER = threading.Event()


def held_workbench_model(body):
    """The studio's configured provider model: it answers only when the test sets MODEL_MAY_ANSWER,
    so the run is still going while the test looks at another page, however loaded the machine."""
    return Reply(content="<respond>None</respond>", hold=MODEL_MAY_ANSWER)


@pytest.fixture(scope="module")
def workbench_model() -> Iterator:
    with openai_server(held_workbench_model) as server:
        try:
            yield server
        finally:
            MODEL_MAY_ANSWER.set()  # no request left waiting when the server stops


@pytest.fixture(scope="module")
def sweeps_server(tmp_path_factory, tiny_org_url, workbench_model) -> Iterator[StudioServer]:
    folder = tmp_path_factory.mktemp("sweeps_server")
    org_path = folder / "org.db"
    shutil.copy(tiny_org_url.removeprefix("sqlite:///"), org_path)
    build_tasks(f"sqlite:///{org_path}", per_task=4)
    app_url = f"sqlite:///{folder / 'app.db'}"
    store = open_app_store(app_url)
    with store() as session:
        for username, role in USERS.items():
            add_user(session, username, role, PASSWORD)
    store.kw["bind"].dispose()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CRM_STUDIO_MODELS", "openai:slow")
        env.setenv("CRM_STUDIO_BASE_URL", workbench_model.base_url)
        env.setenv("OPENAI_API_KEY", "sk-test")
        with serve_studio(folder, f"sqlite:///{org_path}", app_url) as server:
            yield server


def test_researcher_starts_a_sweep_leaves_and_comes_back_to_see_it_finish(sweeps_server, context):
    server = sweeps_server
    name = f"browser sweep {uuid.uuid4().hex[:6]}"  # a retry's sweep is told from the first attempt's
    with openai_server(slow_answer) as model:
        sweep_file = (
            f"name: {name}\n"
            f"org: {{url: '{server.org_url}'}}\n"
            f"models: [oracle, {{name: 'openai:stub', base_url: '{model.base_url}'}}]\n"
            "frameworks: [fc, react]\ntasks: [handle_time, transfer_count]\nlimit: 2\ntrials: 2\n"
        )
        page = context.new_page()
        sign_in(page, server, "rita", to="sweeps")
        page.get_by_text("Start a sweep").click()
        editor = page.get_by_label("Sweep file (YAML)")
        editor.fill(sweep_file)
        editor.press("Tab")  # commit the text area before the click
        page.get_by_role("button", name="Start sweep").click()
        expect(page.get_by_text(re.compile(r"Started sweep sweep-"))).to_be_visible()
        expect(page.get_by_text(name).first).to_be_visible()
        expect(page.get_by_text(re.compile(r"(queued|running): \d+ / 32 episodes"))).to_be_visible()
        screenshot(page, "sweeps-started")

        # go elsewhere while the sweep plays, then come back
        page.get_by_role("link", name="Results").click()
        settle(page)
        expect(page.get_by_role("heading", name="Results").first).to_be_visible()
        page.get_by_role("link", name="Sweeps").click()
        settle(page)
        expect(page.get_by_text("finished: 32 / 32 episodes")).to_be_visible(timeout=90_000)
        screenshot(page, "sweeps-finished")
        expect(page.get_by_role("rowheader", name="openai:stub", exact=True)).to_be_visible()
        stub_react = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="openai:stub · react"))
        expect(stub_react.get_by_role("cell").nth(2)).to_have_text("8")  # per model × framework: 8 done
        assert len(model.requests) == 16  # the stub model's 16 episodes, one call each

        # nothing plays any more: the page is drawn once more, then no longer redraws itself
        expect(page.get_by_role("button", name="Refresh")).to_be_visible()
        settle(page)
        page.evaluate(WATCH_SCRIPT_STATE)
        page.wait_for_timeout(2.5 * REFRESH_SECONDS * 1000)
        assert page.evaluate("window.scriptStates") == []
        screenshot(page, "sweeps-ended")

    store = open_app_store(server.app_url)
    (sweep,) = [listed for listed in list_sweeps(store) if listed.name == name]
    status = sweep_status(store, sweep.sweep_id)
    assert sweep.created_by == "rita" and status.counts["done"] == 32
    store.kw["bind"].dispose()
    log = sqlite_path(server.app_url).parent / "sweep-logs" / f"{sweep.sweep_id}.log"  # beside its store
    ended = f"{sweep.sweep_id} ({name}): finished; done 32"  # the sweep process's last line (wrapped)
    deadline = time.monotonic() + 30
    while ended not in " ".join(log.read_text().split()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ended in " ".join(log.read_text().split())


def test_experts_cannot_open_sweeps(sweeps_server, context):
    page = context.new_page()
    sign_in(page, sweeps_server, "erin", to="sweeps")
    expect(page.get_by_role("button", name="Start sweep")).to_have_count(0)
    expect(page.get_by_role("link", name="Sweeps")).to_have_count(0)


def test_an_expert_s_agent_run_does_not_block_the_next_click(sweeps_server, workbench_model, context):
    """A run of a model that answers only when the test lets it: the expert opens another page at
    once and it answers while the run goes on; back on the workbench, the run has finished and is
    on the agent's side."""
    server = sweeps_server
    MODEL_MAY_ANSWER.clear()  # (a retry's model holds its answer again)
    expert = attempt_user(server, "expert", "erin")  # a retry starts from no submitted answer
    store = open_app_store(server.app_url)
    instances = sorted(load_tasks(server.org_url), key=lambda i: i.idx)
    first_task = next(t for t in task_names() if any(i.task == t for i in instances))
    instance = next(i for i in instances if i.task == first_task)  # what /workbench opens by default
    page = context.new_page()
    sign_in(page, server, expert, to=f"workbench?idx={instance.idx}")
    page.locator(".st-key-wb_answer input").fill("None")
    page.get_by_role("button", name="Submit answer").click()
    expect(page.get_by_text("The agent's run")).to_be_visible()
    settle(page)
    page.get_by_text("Run an agent on this instance").click()
    choose(page, ".st-key-wb_model", "openai:slow")
    expect(page.get_by_role("combobox", name="Model")).to_have_value("openai:slow")
    try:
        page.get_by_role("button", name="Start the run").click()
        expect(page.get_by_text("Running openai:slow (act) ...")).to_be_visible()

        page.get_by_role("link", name="Org Explorer").click()  # the next click, while the model thinks
        expect(page.get_by_role("heading", name="Org Explorer").first).to_be_visible()
        settle(page)
        running = [r for r in list_runs(store) if r.run.run_id.startswith(f"workbench-{expert}-{instance.idx}-")]
        assert len(running) == 1 and running[0].completed == 0  # the page answered before the run ended
        assert workbench_model.load["now"] == 1  # the model is still thinking about the only request
    finally:
        MODEL_MAY_ANSWER.set()

    page.get_by_role("link", name="Task Workbench").click()  # back to the (default) instance
    settle(page)
    expect(page.get_by_text("Running openai:slow (act) ...")).to_have_count(0, timeout=30_000)
    selected = page.get_by_role("combobox", name="Run")
    expect(selected).to_have_value(re.compile(rf"^openai:slow · act \(workbench-{expert}-"), timeout=30_000)
    done = [r for r in list_runs(store) if r.run.run_id == running[0].run.run_id]
    assert done[0].completed == 1
    store.kw["bind"].dispose()
