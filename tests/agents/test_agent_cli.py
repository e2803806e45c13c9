"""The agents' CLI: run, runs list, runs export, score, and one-line errors for bad input."""

from __future__ import annotations

import json

import pytest

from crm_core.tasks.build import generate_tasks
from crm_core.tasks.records import read_task_file, save_tasks
from crm_core.tasks.registry import task_names


@pytest.fixture(scope="session")
def tiny_task_file(tiny_org_url, tmp_path_factory):
    return save_tasks(generate_tasks(tiny_org_url, per_task=2), tmp_path_factory.mktemp("cli") / "tasks.jsonl")


def test_run_list_score_export(cli, tmp_path, tiny_org_url, tiny_task_file):
    app = f"sqlite:///{tmp_path / 'app.db'}"
    where = ["--org-db", tiny_org_url, "--app-db", app]
    code, out, err = cli(
        "run", "--framework", "fc", "--model", "oracle", "--task-file", str(tiny_task_file), "--limit", "1",
        "--trials", "2", "--run-id", "cli1", *where,
    )  # fmt: skip
    assert code == 0, err
    assert "Run cli1 finished" in out

    code, out, _ = cli("runs", "list", "--app-db", app)
    assert code == 0 and "cli1" in out and "18/18" in out and "oracle" in out

    code, out, _ = cli("score", "cli1", "--json", "--app-db", app)
    report = json.loads(out)
    assert report["per_task"] == dict.fromkeys(task_names(), 1.0)
    assert (report["overall"], report["pass_hat_k"], report["completed"]) == (1.0, {"1": 1.0, "2": 1.0}, 18)

    code, out, _ = cli("score", "cli1", "--app-db", app)
    assert code == 0 and "overall (mean of tasks)" in out and "pass^2" in out and "persona: manager" in out

    jsonl = tmp_path / "cli1.jsonl"
    code, out, _ = cli("runs", "export", "cli1", str(jsonl), "--format", "jsonl", "--app-db", app)
    assert code == 0 and len(jsonl.read_text().splitlines()) == 18
    results = tmp_path / "cli1.json"
    code, out, _ = cli("runs", "export", "cli1", str(results), "--format", "crmarena", "--app-db", app)
    assert code == 0 and {r["reward"] for r in json.loads(results.read_text())} == {1.0}

    # the same run id again: nothing left to do, nothing duplicated
    code, out, err = cli("run", "--run-id", "cli1", "--task-file", str(tiny_task_file), *where)
    assert code == 0 and "18 of 18 episodes already done" in err
    code, out, _ = cli("runs", "list", "--app-db", app)
    assert "18/18" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--model", "oracle"], "Error: a new run needs --framework and --model"),
        (["run", "--framework", "plan", "--model", "oracle"], "Error: unknown framework 'plan': choose one of"),
        (
            ["run", "--framework", "act", "--model", "oracle", "--tasks", "handle_time,nope"],
            "Error: unknown task 'nope'",
        ),
        (["run", "--framework", "act", "--model", "baseline:median"], "Error: unknown baseline 'median'"),
        (["run", "--framework", "act", "--model", "replay:missing"], "Error: replay: no run 'missing'"),
        (["score", "missing"], "Error: no run 'missing' in the app store"),
        (["runs", "export", "missing", "out.json", "--format", "csv"], "Error: unknown format 'csv'"),
    ],
)
def test_bad_input_is_one_line(cli, tmp_path, tiny_org_url, tiny_task_file, args, message):
    extra = ["--app-db", f"sqlite:///{tmp_path / 'app.db'}"]
    if args[0] == "run":
        extra += ["--org-db", tiny_org_url, "--task-file", str(tiny_task_file)]
    code, out, err = cli(*args, *extra)
    assert code == 1
    assert err.startswith(message) and err.count("\n") == 1 and "Traceback" not in err


def test_resume_with_other_flags_is_refused(cli, tmp_path, tiny_org_url, tiny_task_file):
    where = [
        "--org-db",
        tiny_org_url,
        "--app-db",
        f"sqlite:///{tmp_path / 'app.db'}",
        "--task-file",
        str(tiny_task_file),
    ]
    code, _, err = cli("run", "-f", "act", "-m", "baseline:majority", "--run-id", "r", "--limit", "1", *where)
    assert code == 0, err
    code, _, err = cli("run", "-m", "oracle", "--run-id", "r", *where)
    assert code == 1 and err.startswith("Error: run 'r' exists with model 'baseline:majority', not 'oracle'")


def test_bad_price_table_names_the_line(cli, tmp_path, tiny_org_url, tiny_task_file):
    prices = tmp_path / "prices.json"
    prices.write_text('{\n  "openai:gpt-4o": {"input": 1.0,\n}\n')
    code, _, err = cli(
        "run", "-f", "act", "-m", "openai:gpt-4o", "--prices", str(prices), "--org-db", tiny_org_url,
        "--app-db", f"sqlite:///{tmp_path / 'app.db'}", "--task-file", str(tiny_task_file),
    )  # fmt: skip
    assert code == 1 and err.startswith(f"Error: {prices} line 3: not valid JSON")


def test_missing_org_is_one_line(cli, tmp_path, tiny_task_file):
    missing = tmp_path / "nowhere.db"
    code, _, err = cli(
        "run", "-f", "act", "-m", "oracle", "--org-db", f"sqlite:///{missing}",
        "--app-db", f"sqlite:///{tmp_path / 'app.db'}", "--task-file", str(tiny_task_file),
    )  # fmt: skip
    assert code == 1 and err == f"Error: no org database at {missing}: run `python -m crm_core generate` first\n"


def test_a_failing_model_stops_the_run_and_retry_errors_resumes_it(cli, tmp_path, contact_org, task_file):
    from openai_server import Reply, openai_server
    from scripted_policies import contact_policy

    healthy = {"ok": False}

    def script(body):
        return contact_policy(body) if healthy["ok"] else Reply(status=401)

    where = ["--org-db", contact_org[0], "--app-db", f"sqlite:///{tmp_path / 'app.db'}", "--task-file", str(task_file)]
    with openai_server(script) as server:
        code, _, err = cli(
            "run", "-f", "react", "-m", "openai:scripted", "--base-url", server.base_url, "--run-id", "down",
            "--concurrency", "2", *where,
        )  # fmt: skip
        assert code == 1
        assert "\nError: the first 5 episodes all failed (" in err and "Error code: 401" in err
        assert "resume with --run-id down --retry-errors" in err
        assert len(server.requests) < 12  # stopped early: the remaining episodes never ran
        healthy["ok"] = True
        code, out, err = cli("run", "--run-id", "down", "--retry-errors", *where)
        assert code == 0, err
    code, out, _ = cli("score", "down", "--json", "--app-db", where[3])
    report = json.loads(out)
    assert (report["completed"], report["overall"], report["end_reasons"]) == (12, 1.0, {"responded": 12})


def test_resume_on_a_changed_task_set_is_refused(cli, tmp_path, tiny_org_url, tiny_task_file):
    where = ["--org-db", tiny_org_url, "--app-db", f"sqlite:///{tmp_path / 'app.db'}"]
    code, _, err = cli("run", "-f", "act", "-m", "baseline:majority", "--run-id", "r", "--limit", "1",
                       "--task-file", str(tiny_task_file), *where)  # fmt: skip
    assert code == 0, err
    changed = [i.model_copy(update={"answer": "something else"}) for i in read_task_file(tiny_task_file)]
    other = save_tasks(changed, tmp_path / "changed.jsonl")
    code, _, err = cli("run", "--run-id", "r", "--task-file", str(other), *where)
    assert code == 1 and err.startswith("Error: run 'r' was started on other task instances")


def test_show_and_replay_with_the_recorded_framework(cli, tmp_path, tiny_org_url, tiny_task_file):
    where = [
        "--org-db",
        tiny_org_url,
        "--app-db",
        f"sqlite:///{tmp_path / 'app.db'}",
        "--task-file",
        str(tiny_task_file),
    ]
    code, _, err = cli("run", "-f", "fc", "-m", "oracle", "--run-id", "src", "--tasks", "best_region_identification",
                       "--limit", "1", *where)  # fmt: skip
    assert code == 0, err
    idx = next(i.idx for i in read_task_file(tiny_task_file) if i.task == "best_region_identification")
    code, out, _ = cli("runs", "show", "src", "-i", str(idx), "--app-db", where[3])
    assert code == 0 and "responded after" in out and "→ get_cases(" in out and "tool" in out
    code, _, err = cli("runs", "show", "src", "-i", str(idx), "-t", "5", "--app-db", where[3])
    assert code == 1 and err.startswith(f"Error: run 'src' has no finished episode for instance {idx} trial 5")
    # replay without --framework takes the recorded run's framework
    code, _, err = cli("run", "-m", "replay:src", "--run-id", "copy", "--tasks", "best_region_identification",
                       "--limit", "1", *where)  # fmt: skip
    assert code == 0, err
    code, out, _ = cli("score", "copy", "--json", "--app-db", where[3])
    assert json.loads(out)["framework"] == "fc" and json.loads(out)["overall"] == 1.0


def test_delete_a_run(cli, tmp_path, tiny_org_url, tiny_task_file):
    app = f"sqlite:///{tmp_path / 'app.db'}"
    where = ["--org-db", tiny_org_url, "--app-db", app, "--task-file", str(tiny_task_file)]
    for run_id in ("keep", "drop"):
        code, _, err = cli("run", "-f", "act", "-m", "baseline:majority", "--run-id", run_id, "--limit", "1", *where)
        assert code == 0, err
    code, out, _ = cli("runs", "delete", "drop", "--yes", "--app-db", app)
    assert code == 0 and out == "Deleted run drop and 9 episodes.\n"
    code, out, _ = cli("runs", "list", "--app-db", app)
    assert "keep" in out and "drop" not in out
    code, _, err = cli("score", "drop", "--app-db", app)
    assert code == 1 and err.startswith("Error: no run 'drop'")
    code, out, _ = cli("score", "keep", "--json", "--app-db", app)
    assert json.loads(out)["completed"] == 9
