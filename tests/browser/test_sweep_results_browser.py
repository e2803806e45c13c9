"""Results in Chromium for a finished offline org ablation: the paired comparison of its two arms
(latent against flat org) with its bootstrap interval, and pass^k per framework."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import expect
from studio_browser import PASSWORD, USERS, StudioServer, screenshot, serve_studio, sign_in

from crm_core.agents.run_store import load_episodes
from crm_core.store import open_app_store
from crm_core.sweeps.definition import parse_sweep
from crm_core.sweeps.local import run_here
from crm_core.sweeps.store import sweep_runs, sweep_status
from crm_core.sweeps.submit import submit
from crm_core.users import add_user

pytestmark = pytest.mark.browser


def ablation(folder) -> str:
    return (
        "name: tiny ablation\n"
        "orgs:\n"
        f"  - {{label: latent, url: 'sqlite:///{folder}/latent.db', generate: {{seed: 5, scale: tiny}}}}\n"
        f"  - {{label: flat, url: 'sqlite:///{folder}/flat.db', generate: {{seed: 5, scale: tiny, latent: false}}}}\n"
        "models: [oracle, baseline:random]\n"
        "frameworks: [fc, react]\n"
        "tasks: [handle_time, transfer_count, knowledge_qa]\n"
        "limit: 3\ntrials: 2\n"
    )


@pytest.fixture(scope="module")
def ablation_server(tmp_path_factory) -> Iterator[tuple[StudioServer, str]]:
    folder = tmp_path_factory.mktemp("ablation_server")
    app_url = f"sqlite:///{folder / 'app.db'}"
    store = open_app_store(app_url)
    with store() as session:
        for username, role in USERS.items():
            add_user(session, username, role, PASSWORD)
    sweep_id, keys = submit(
        store, parse_sweep(ablation(folder), "ablation.yaml"), source="ablation.yaml", backend="local"
    )
    with ThreadPoolExecutor(1) as pool:  # Playwright's loop runs in this thread
        played = pool.submit(run_here, store, sweep_id).result()
    assert played == len(keys) == 2 * 2 * 2 * 3 * 3 * 2
    assert sweep_status(store, sweep_id).status == "finished"
    store.kw["bind"].dispose()
    with serve_studio(folder, f"sqlite:///{folder}/latent.db", app_url) as server:
        yield server, sweep_id


def expected_difference(app_url: str, sweep_id: str, pair: tuple[str, str]) -> float:
    """latent − flat of one model · framework: the k-th instance of each task paired across the
    orgs, the mean over tasks of the mean per-instance difference."""
    store = open_app_store(app_url)
    means: dict[str, dict[str, list[float]]] = {}  # variant -> task -> mean reward by instance order
    for entry in sweep_runs(store, sweep_id):
        if (entry.run.model, entry.run.framework) != pair:
            continue
        trials: dict[tuple[str, int], list[float]] = defaultdict(list)
        for episode in load_episodes(store, entry.run.run_id):
            trials[(episode.task, episode.instance_idx)].append(episode.reward)
        by_task: dict[str, list[float]] = defaultdict(list)
        for (task, _idx), rewards in sorted(trials.items(), key=lambda item: item[0][1]):
            by_task[task].append(sum(rewards) / len(rewards))
        means[entry.variant] = by_task
    store.kw["bind"].dispose()
    differences = [
        sum(a - b for a, b in zip(means["latent"][task], means["flat"][task], strict=True)) / len(means["flat"][task])
        for task in means["latent"]
    ]
    return sum(differences) / len(differences)


def test_results_show_the_ablation_as_a_paired_comparison_with_its_interval(ablation_server, context):
    server, sweep_id = ablation_server
    page = context.new_page()
    sign_in(page, server, "rita", to="dashboard")
    page.get_by_role("tab", name="Sweeps").click()
    main = page.get_by_role("tabpanel", name="Sweeps")
    expect(main).to_contain_text("latent against flat")
    table = main.get_by_test_id("stTable").first
    expect(table).to_contain_text("95% interval")
    rows = [[c.strip() for c in r.locator("th, td").all_inner_texts()] for r in table.locator("tr").all()]
    assert rows[0] == ["compared", "latent", "flat", "latent − flat", "95% interval", "shared instances"]
    cells = {row[0]: row[1:] for row in rows[1:]}
    assert set(cells) == {"oracle · fc", "oracle · react", "baseline:random · fc", "baseline:random · react"}
    # the oracle solves every instance of either org: no difference, a zero-width interval
    assert cells["oracle · fc"] == ["1.000", "1.000", "+0.000", "[+0.000, +0.000]", "9"]
    for framework in ("fc", "react"):
        latent, flat, difference, interval, n = cells[f"baseline:random · {framework}"]
        expected = expected_difference(server.app_url, sweep_id, ("baseline:random", framework))
        assert float(difference) == pytest.approx(expected, abs=5e-4)
        assert float(difference) == pytest.approx(float(latent) - float(flat), abs=1.5e-3)
        low, high = (float(x) for x in interval.strip("[]").split(", "))
        assert low <= float(difference) <= high and n == "9"
    # pass^k per framework: every arm's system, k = 1 .. 2 trials
    passes = main.get_by_test_id("stTable").nth(1)
    header = passes.locator("tr").first.inner_text()
    assert "latent · oracle · fc" in header and "flat · baseline:random · react" in header
    expect(main.get_by_test_id("stPlotlyChart").first).to_be_visible()
    screenshot(page, "60-results-sweep-ablation")
