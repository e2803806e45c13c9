"""Sweeps played in-process on the SQLite app store: submit, status, cancel, retry, budget, and
scores equal to serial runs'."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from crm_core.store.engine import open_app_store
from crm_core.sweeps.definition import parse_sweep
from crm_core.sweeps.local import run_here
from crm_core.sweeps.store import EpisodeKey, claim_episode, store_episode, sweep_status
from crm_core.sweeps.submit import submit
from tests.agents.openai_server import Reply, flaky, openai_server

SWEEPS = Path(__file__).parents[2] / "sweeps"


def write_sweep(folder: Path, body: str) -> Path:
    path = folder / "sweep.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def respond_none(body):
    if body.get("tools"):
        return Reply(tool_calls=[("respond", json.dumps({"content": "None"}))])
    return Reply(content="<respond>None</respond>")


def stub_sweep(org_url: str, base_url: str, **extra: str) -> str:
    lines = [
        "name: stub",
        f"org: {{url: '{org_url}'}}",
        f"models: [{{name: 'openai:stub', base_url: '{base_url}'}}]",
        "frameworks: [fc]",
        "tasks: [handle_time]",
        "limit: 3",
        "retry: {attempts: 1, initial_wait_s: 0, max_wait_s: 0}",
        *(f"{k}: {v}" for k, v in extra.items()),
    ]
    return "\n".join(lines) + "\n"


@pytest.mark.slow
def test_offline_smoke_runs_here_and_every_episode_is_done(cli, tmp_path, monkeypatch):
    """The shipped smoke file, exactly as a user runs it: the org is generated, 80 episodes played."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(SWEEPS, tmp_path / "sweeps")
    app = f"sqlite:///{tmp_path / 'app.db'}"
    code, out, err = cli("sweep", "submit", "sweeps/offline_smoke.yaml", "--run-here", "--app-db", app)
    assert code == 0, err
    sweep_id = out.split()[0]
    code, out, _ = cli("sweep", "status", sweep_id, "--json", "--app-db", app)
    status = json.loads(out)
    assert status["status"] == "finished"
    assert status["planned"] == 80 and status["counts"]["done"] == 80
    assert sum(status["counts"].values()) == 80 and status["eta_s"] == 0
    assert {m["model"]: m["done"] for m in status["models"]} == {"oracle": 40, "baseline:random": 40}
    assert (tmp_path / "data" / "orgs" / "tiny-seed7.db").exists()

    # the sweep's runs are ordinary runs: listed and scored like any other
    code, out, _ = cli("runs", "list", "--app-db", app)
    assert all(run_id[:40] in out for run_id in status["runs"]) or len(status["runs"]) == 4
    scores = {}
    for run_id in status["runs"]:
        code, out, err = cli("score", run_id, "--json", "--app-db", app)
        assert code == 0, err
        scores[run_id] = json.loads(out)
    oracle = [s for s in scores.values() if s["model"] == "oracle"]
    assert [s["overall"] for s in oracle] == [1.0, 1.0] and all(s["completed"] == 20 for s in oracle)

    # a serial `run` of the random floor with the same selection scores exactly like the sweep's run
    code, _, err = cli(
        "run", "-f", "fc", "-m", "baseline:random", "--tasks", "handle_time,knowledge_qa", "--limit", "5",
        "--trials", "2", "--run-id", "serial-random", "--org-db", "sqlite:///data/orgs/tiny-seed7.db", "--app-db", app,
    )  # fmt: skip
    assert code == 0, err
    serial = json.loads(cli("score", "serial-random", "--json", "--app-db", app)[1])
    swept = next(s for s in scores.values() if s["model"] == "baseline:random" and s["framework"] == "fc")
    for field in ("per_task", "overall", "pass_hat_k", "end_reasons", "completed"):
        assert swept[field] == serial[field], field


def test_sqlite_store_needs_run_here(cli, tmp_path, tiny_tasks_org):
    path = write_sweep(tmp_path, f"name: x\norg: {{url: '{tiny_tasks_org}'}}\nmodels: [oracle]\nframeworks: [fc]\n")
    code, _, err = cli("sweep", "submit", str(path), "--app-db", f"sqlite:///{tmp_path / 'app.db'}")
    assert code == 1 and "workers need a PostgreSQL app store" in err and "--run-here" in err
    code, _, err = cli("sweep", "status", "nope", "--app-db", f"sqlite:///{tmp_path / 'app.db'}")
    assert code == 1 and "no sweep 'nope'" in err


def test_cancel_stops_new_episodes(tmp_path, tiny_tasks_org):
    store = open_app_store(f"sqlite:///{tmp_path / 'app.db'}")
    sweep = parse_sweep(f"name: x\norg: {{url: '{tiny_tasks_org}'}}\nmodels: [oracle]\nframeworks: [fc]\nlimit: 2\n")
    sweep_id, keys = submit(store, sweep, source="x.yaml", backend="local")
    assert len(keys) == 18 and sweep_status(store, sweep_id).status == "queued"
    from crm_core.sweeps.store import cancel_sweep

    assert cancel_sweep(store, sweep_id) == 18
    assert run_here(store, sweep_id) == 0
    status = sweep_status(store, sweep_id)
    assert status.status == "cancelled" and status.counts["cancelled"] == 18 and status.counts["done"] == 0


def test_an_episode_stored_twice_is_stored_once(tmp_path, tiny_tasks_org):
    store = open_app_store(f"sqlite:///{tmp_path / 'app.db'}")
    sweep = parse_sweep(f"name: x\norg: {{url: '{tiny_tasks_org}'}}\nmodels: [oracle]\nframeworks: [fc]\nlimit: 1\n")
    sweep_id, keys = submit(store, sweep, source="x.yaml", backend="local")
    assert run_here(store, sweep_id) == 9
    from crm_core.agents.run_store import list_runs, load_episodes

    run_id = keys[0].run_id
    episode = load_episodes(store, run_id)[0]
    assert store_episode(store, episode) is False  # a second worker finishing the same episode
    assert claim_episode(store, keys[0], "late-worker") is False  # nothing left to play
    assert list_runs(store, run_id)[0].completed == 9
    assert sweep_status(store, sweep_id).counts["done"] == 9


@pytest.mark.slow
def test_provider_errors_fail_episodes_and_retry_failed_plays_them_again(cli, tmp_path, tiny_tasks_org):
    app = f"sqlite:///{tmp_path / 'app.db'}"
    with openai_server(lambda body: Reply(status=500)) as broken:
        path = write_sweep(tmp_path, stub_sweep(tiny_tasks_org, broken.base_url))
        code, out, err = cli("sweep", "submit", str(path), "--run-here", "--app-db", app)
        assert code == 0, err
    sweep_id = out.split()[0]
    status = json.loads(cli("sweep", "status", sweep_id, "--json", "--app-db", app)[1])
    assert status["counts"]["failed"] == 3 and status["status"] == "finished"
    assert "Error code: 500" in status["recent_errors"][0]
    code, out, _ = cli("sweep", "status", sweep_id, "--app-db", app)
    assert "failed 3" in out and "error" in out

    # the server is fixed (same URL is not needed: the stored run keeps its URL, so serve there again)
    with openai_server(respond_none) as fixed:
        store = open_app_store(app)
        from crm_core.store.models import AgentRun

        with store() as session:  # point the stored run at the new port, as a moved server would be
            row = session.get(AgentRun, status["runs"][0])
            row.config = {**row.config, "base_url": fixed.base_url}
            session.commit()
        code, out, err = cli("sweep", "retry", sweep_id, "--failed", "--app-db", app)
        assert code == 0, err
        assert "Queued again 3 failed episodes" in out
    status = json.loads(cli("sweep", "status", sweep_id, "--json", "--app-db", app)[1])
    assert status["counts"] == {**dict.fromkeys(status["counts"], 0), "done": 3}
    score = json.loads(cli("score", status["runs"][0], "--json", "--app-db", app)[1])
    assert score["completed"] == 3 and score["end_reasons"] == {"responded": 3}


def test_budget_stops_new_episodes(cli, tmp_path, tiny_tasks_org, monkeypatch):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"openai:*": {"input": 1_000_000, "output": 0}}))  # $1 per input token
    monkeypatch.setenv("CRM_PRICES", str(prices))
    app = f"sqlite:///{tmp_path / 'app.db'}"
    with openai_server(respond_none) as server:
        path = write_sweep(tmp_path, stub_sweep(tiny_tasks_org, server.base_url, budget_usd="5", trials="2"))
        code, out, err = cli("sweep", "submit", str(path), "--run-here", "-c", "1", "--app-db", app)
        assert code == 0, err
        assert len(server.requests) == 1  # the first episode spent $11; no other episode started
    status = json.loads(cli("sweep", "status", out.split()[0], "--json", "--app-db", app)[1])
    assert status["status"] == "budget spent"
    assert status["counts"]["done"] == 1 and status["counts"]["skipped"] == 5
    assert status["cost_usd"] == 11.0
    [row] = status["per_run"]  # one model × one framework: the run carries the whole cost
    assert (row["model"], row["cost_usd"], row["counts"]["done"], row["counts"]["skipped"]) == (
        "openai:stub",
        11.0,
        1,
        5,
    )


def test_flaky_provider_every_episode_ends(tmp_path, tiny_tasks_org):
    """429 and 500 on 40% of the calls: retries with backoff absorb them, every episode responds."""
    store = open_app_store(f"sqlite:///{tmp_path / 'app.db'}")
    with openai_server(flaky(respond_none, 0.4, seed=3)) as server:
        text = stub_sweep(tiny_tasks_org, server.base_url).replace("attempts: 1,", "attempts: 12,")
        sweep_id, keys = submit(store, parse_sweep(text), source="x.yaml", backend="local")
        run_here(store, sweep_id, concurrency=3)
        errors = len(server.requests) - len(keys)
    status = sweep_status(store, sweep_id)
    assert status.counts["done"] == len(keys) == 3
    assert errors > 0  # the stub really failed some calls
    key = EpisodeKey(sweep_id=sweep_id, run_id=keys[0].run_id, instance_idx=keys[0].instance_idx, trial=0)
    assert claim_episode(store, key, "w") is False


ABLATION = """\
name: tiny ablation
orgs:
  - {label: latent, generate: {seed: 11, scale: tiny, latent: true}}
  - {label: flat, generate: {seed: 11, scale: tiny, latent: false}}
models: [oracle, baseline:random]
frameworks: [fc]
tasks: [handle_time, knowledge_qa]
limit: 2
"""


@pytest.mark.slow
def test_an_org_ablation_plays_each_variant_s_runs_on_its_own_org(cli, tmp_path, monkeypatch):
    """Two generated orgs (latent on and off), each with the whole plan, run ids labelled."""
    from crm_core.sweeps.store import sweep_runs

    monkeypatch.chdir(tmp_path)
    path = write_sweep(tmp_path, ABLATION)
    app = f"sqlite:///{tmp_path / 'app.db'}"
    code, out, err = cli("sweep", "submit", str(path), "--run-here", "--app-db", app)
    assert code == 0, err
    sweep_id = out.split()[0]
    status = json.loads(cli("sweep", "status", sweep_id, "--json", "--app-db", app)[1])
    assert status["status"] == "finished" and status["planned"] == 16 and status["counts"]["done"] == 16
    assert (tmp_path / "data" / "orgs" / "tiny-seed11.db").exists()
    assert (tmp_path / "data" / "orgs" / "tiny-seed11-flat.db").exists()

    rows = {(r["variant"], r["model"], r["framework"]): r for r in status["per_run"]}
    assert set(rows) == {(v, m, "fc") for v in ("latent", "flat") for m in ("oracle", "baseline:random")}
    for row in rows.values():  # each model × framework of each variant: its own four episodes, all done
        assert row["planned"] == row["counts"]["done"] == 4 and row["episodes_per_minute"] > 0
    code, out, _ = cli("sweep", "status", sweep_id, "--app-db", app)
    table = out.split("per model × framework:")[1]
    assert table.count("│ flat ") == 2 and table.count("│ latent ") == 2, out  # a row per variant × model

    runs = sweep_runs(open_app_store(app), sweep_id)
    assert [(r.variant, r.run.model) for r in runs] == [
        ("latent", "oracle"), ("latent", "baseline:random"), ("flat", "oracle"), ("flat", "baseline:random"),
    ]  # fmt: skip
    for r in runs:
        assert f"-{r.variant}-fc-" in r.run.run_id
        assert r.org_url.endswith("tiny-seed11-flat.db" if r.variant == "flat" else "tiny-seed11.db")
    # the variants' instances come from different orgs (a run played on the other org is refused)
    digests = {r.variant: r.run.instances_digest for r in runs}
    assert digests["latent"] != digests["flat"]
    for r in runs:
        score = json.loads(cli("score", r.run.run_id, "--json", "--app-db", app)[1])
        assert score["completed"] == 4 and score["end_reasons"] == {"responded": 4}
        if r.run.model == "oracle":
            assert score["overall"] == 1.0


def test_a_two_framework_sweep_compares_the_frameworks_model_by_model(tmp_path, tiny_tasks_org):
    """tools_vs_soql's shape: one org, fc against react; pairs are models, instances are shared."""
    from crm_core.studio.sweep_results import paired_sweeps, sweep_comparison

    store = open_app_store(f"sqlite:///{tmp_path / 'app.db'}")
    text = (
        f"name: tools\norg: {{url: '{tiny_tasks_org}'}}\nmodels: [oracle, baseline:random]\n"
        "frameworks: [fc, react]\ntasks: [handle_time, knowledge_qa]\nlimit: 3\ntrials: 2\n"
    )
    sweep_id, keys = submit(store, parse_sweep(text), source="t.yaml", backend="local")
    one = parse_sweep(text.replace("[fc, react]", "[fc]"))
    single_id, _ = submit(store, one, source="one.yaml", backend="local")
    assert run_here(store, sweep_id) == len(keys) == 48
    assert list(paired_sweeps(store)) == [sweep_id]  # one framework, one org: nothing to pair
    assert sweep_comparison(store, single_id) is None
    comparison = sweep_comparison(store, sweep_id)
    assert comparison is not None and comparison.by == "framework" and comparison.arms == ("fc", "react")
    rows = {row.pair: row.paired for row in comparison.rows}
    assert set(rows) == {"oracle", "baseline:random"}
    assert (rows["oracle"].first, rows["oracle"].second, rows["oracle"].difference.mean) == (1.0, 1.0, 0.0)
    assert rows["oracle"].difference.n == 6
    assert comparison.passes.systems == [
        "oracle · fc", "baseline:random · fc", "oracle · react", "baseline:random · react",
    ]  # fmt: skip
    assert comparison.passes.score("oracle · react").pass_hat_k == {1: 1.0, 2: 1.0}


def test_a_player_prepares_the_runs_with_episodes_left_before_its_first_episode(tmp_path, tiny_tasks_org):
    """Runs of open sweeps are prepared ahead (a remote model's client made in the loop); finished
    sweeps' runs are not; one sweep's runs alone when asked."""
    import asyncio

    from crm_core.sweeps.player import SweepPlayer

    store = open_app_store(f"sqlite:///{tmp_path / 'app.db'}")
    with openai_server(respond_none) as model:
        done = parse_sweep(f"name: d\norg: {{url: '{tiny_tasks_org}'}}\nmodels: [oracle]\nframeworks: [fc]\nlimit: 1\n")
        done_id, _ = submit(store, done, source="d.yaml", backend="local")
        run_here(store, done_id)
        remote_id, remote_keys = submit(
            store, parse_sweep(stub_sweep(tiny_tasks_org, model.base_url)), source="s.yaml", backend="local"
        )
        two = parse_sweep(
            f"name: t\norg: {{url: '{tiny_tasks_org}'}}\nmodels: [oracle]\nframeworks: [fc, act]\nlimit: 1\n"
        )
        two_id, two_keys = submit(store, two, source="t.yaml", backend="local")

        async def prepare(sweep_id: str | None) -> tuple[int, SweepPlayer, int]:
            player = SweepPlayer(store)
            count = await player.prepare_open_runs(sweep_id)
            remote = player._runs.get(remote_keys[0].run_id)
            return (
                count,
                player,
                len(remote.prepared.source._models.get(asyncio.get_running_loop(), {})) if remote else 0,
            )

        count, player, remote_models = asyncio.run(prepare(None))
        assert count == 3 and set(player._runs) == {remote_keys[0].run_id, *(k.run_id for k in two_keys)}
        assert remote_models == 1  # the remote model's chat model, made in that loop
        player.close()
        count, player, _ = asyncio.run(prepare(two_id))
        assert count == 2 and set(player._runs) == {k.run_id for k in two_keys}
        player.close()
        assert model.requests == []  # preparing calls no model
    assert sweep_status(store, remote_id).counts["queued"] == len(remote_keys)
