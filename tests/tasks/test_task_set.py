"""The task set built from generated orgs: determinism, None shares, phrasings, the oracle reaching
every reference answer through the tools, floor baselines, storage and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from crm_core.db import make_readonly_engine
from crm_core.scoring import ScoredAnswer, reward, summarize
from crm_core.tasks.baselines import answer_pools, majority_baseline, random_baseline
from crm_core.tasks.build import generate_tasks
from crm_core.tasks.oracle import solve
from crm_core.tasks.records import TaskInstance, dumps_instances, load_tasks
from crm_core.tasks.registry import task_names, task_specs
from crm_core.tools import ToolContext
from tests.conftest import shared_file

QUICK_PER_TASK = 40
TASKS = task_names()
NONE_TASKS = {spec.name for spec in task_specs() if spec.allows_none}


@pytest.fixture(scope="session")
def tiny_tasks(tiny_org_url: str) -> list[TaskInstance]:
    return generate_tasks(tiny_org_url, per_task=QUICK_PER_TASK, seed=11)


def _oracle_mismatches(url: str, instances: list[TaskInstance], *, raw_queries: bool = False) -> list[str]:
    engine = make_readonly_engine(url)
    wrong = []
    with engine.connect() as conn:
        for instance in instances:
            today = instance.params.get("today")
            ctx = ToolContext(conn, dt.date.fromisoformat(today) if today else None)
            trace = solve(instance, ctx, raw_queries=raw_queries)
            assert trace.steps[-1].tool == "respond"
            if raw_queries:
                assert {step.tool for step in trace.steps} <= {"issue_soql_query", "issue_sosl_query", "respond"}
            if reward(instance, trace.answer) != 1.0:
                wrong.append(f"{instance.idx} {instance.task}: oracle {trace.answer!r}, reference {instance.answer!r}")
    engine.dispose()
    return wrong


def test_same_seed_same_bytes_and_other_seed_differs(tiny_org_url: str, tiny_tasks: list[TaskInstance]) -> None:
    again = generate_tasks(tiny_org_url, per_task=QUICK_PER_TASK, seed=11)
    assert dumps_instances(again) == dumps_instances(tiny_tasks)
    other = generate_tasks(tiny_org_url, per_task=QUICK_PER_TASK, seed=12)
    assert dumps_instances(other) != dumps_instances(tiny_tasks)


def test_shape_of_the_set(tiny_tasks: list[TaskInstance]) -> None:
    counts = Counter(i.task for i in tiny_tasks)
    assert set(counts) == set(TASKS)
    assert [i.idx for i in tiny_tasks] == list(range(len(tiny_tasks)))
    nones = Counter(i.task for i in tiny_tasks if i.answer is None)
    for task in TASKS:
        if task in NONE_TASKS:
            assert abs(nones[task] / counts[task] - 0.3) <= 0.05, (task, nones[task], counts[task])
        else:
            assert nones[task] == 0, task
    for task in ("handle_time", "transfer_count", "top_issue_identification", "named_entity_disambiguation"):
        assert counts[task] == QUICK_PER_TASK, task
    for instance in tiny_tasks:
        assert "{" not in instance.query and "}" not in instance.query, instance.query
        assert instance.metadata.required
        assert instance.reward_metric == ("fuzzy_match" if instance.task == "knowledge_qa" else "exact_match")
        if "start" in instance.params:
            assert instance.params["start"] < instance.params["end"]
        if instance.params.get("today"):
            assert f"Today's date: {instance.params['today']}" in instance.metadata.required


def test_phrasings_are_varied_and_used(tiny_tasks: list[TaskInstance]) -> None:
    for task, templates in ((spec.name, spec.phrasings) for spec in task_specs()):
        assert len(set(templates)) >= 8, task
    by_task: dict[str, set[str]] = {}
    for instance in tiny_tasks:
        shape = re.sub(r"\d+|[0-9A-Za-z]{18}", "#", instance.query.split("\n")[0])[:25]
        by_task.setdefault(instance.task, set()).add(shape)
    assert all(len(shapes) >= 5 for shapes in by_task.values()), {t: len(s) for t, s in by_task.items()}


def test_answers_have_the_task_answer_type(tiny_tasks: list[TaskInstance]) -> None:
    prefix = {
        "case_routing": "005",
        "handle_time": "005",
        "transfer_count": "005",
        "top_issue_identification": "a1M",
        "named_entity_disambiguation": "01t",
        "policy_violation_identification": "ka0",
    }
    months = {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December"}  # fmt: skip
    for instance in tiny_tasks:
        if instance.answer is None:
            continue
        if instance.task in prefix:
            assert instance.answer.startswith(prefix[instance.task]) and len(instance.answer) == 18
        elif instance.task == "monthly_trend_analysis":
            assert instance.answer in months
        elif instance.task == "best_region_identification":
            assert re.fullmatch(r"[A-Z]{2}", instance.answer)


@pytest.mark.parametrize("raw_queries", [False, True], ids=["task-tools", "raw-soql"])
def test_oracle_reaches_every_reference_answer_on_tiny(
    tiny_org_url: str, tiny_tasks: list[TaskInstance], raw_queries: bool
) -> None:
    assert _oracle_mismatches(tiny_org_url, tiny_tasks, raw_queries=raw_queries) == []


def test_handle_time_answers_match_hand_written_sql(tiny_org_url: str, tiny_tasks: list[TaskInstance]) -> None:
    """An independent check of one task's ground truth in plain SQL (first assignment by subquery)."""
    engine = make_readonly_engine(tiny_org_url)
    sql = text(
        """
        WITH firsts AS (
            SELECT h."CaseId__c" AS case_id, h."NewValue__c" AS agent FROM "CaseHistory__c" h
            WHERE h."Field__c" = 'Owner Assignment' AND h."CreatedDate" >= :start AND h."CreatedDate" < :end
              AND NOT EXISTS (SELECT 1 FROM "CaseHistory__c" e WHERE e."CaseId__c" = h."CaseId__c"
                              AND e."Field__c" = 'Owner Assignment' AND e."CreatedDate" < h."CreatedDate")
        ),
        qualified AS (SELECT agent FROM firsts GROUP BY agent HAVING COUNT(*) > :n)
        SELECT c."OwnerId", AVG((julianday(c."ClosedDate") - julianday(c."CreatedDate")) * 86400.0) AS secs
        FROM "Case" c
        WHERE c."CreatedDate" >= :start AND c."CreatedDate" < :end AND c."Status" = 'Closed'
          AND c."OwnerId" IN (SELECT agent FROM qualified)
          AND (SELECT COUNT(*) FROM "CaseHistory__c" x
               WHERE x."CaseId__c" = c."Id" AND x."Field__c" = 'Owner Assignment') = 1
        GROUP BY c."OwnerId"
        """
    )
    checked = 0
    with engine.connect() as conn:
        for instance in (i for i in tiny_tasks if i.task == "handle_time"):
            p = instance.params
            bounds = {k: dt.datetime.fromisoformat(p[k].rstrip("Z")) for k in ("start", "end")}
            rows = conn.execute(sql, {**bounds, "n": p["n"]}).all()
            if not rows:
                assert instance.answer is None
                continue
            pick = min if p["extreme"] == "min" else max
            assert pick(rows, key=lambda row: row[1])[0] == instance.answer
            checked += 1
    engine.dispose()
    assert checked >= 20


def _assert_baselines_at_floor(url: str, instances: list[TaskInstance]) -> None:
    engine = make_readonly_engine(url)
    with engine.connect() as conn:
        pools = answer_pools(conn)
    engine.dispose()
    for baseline in (majority_baseline(instances), random_baseline(pools, seed=3)):
        answers = [baseline(i) for i in instances]
        assert all(a != "None" for a in answers)
        summary = summarize(
            ScoredAnswer(idx=i.idx, task=i.task, persona=i.persona, reward=reward(i, a))
            for i, a in zip(instances, answers, strict=True)
        )
        assert summary.overall <= 0.15, summary


def test_baselines_stay_at_the_floor(tiny_org_url: str, tiny_tasks: list[TaskInstance]) -> None:
    _assert_baselines_at_floor(tiny_org_url, tiny_tasks)


def test_majority_baseline_by_construction() -> None:
    def inst(idx: int, answer: str | None) -> TaskInstance:
        return TaskInstance(
            idx=idx, task="best_region_identification", persona="analyst", query="q", answer=answer,
            reward_metric="exact_match",
        )  # fmt: skip

    instances = [inst(0, "NY"), inst(1, "CA"), inst(2, "CA"), inst(3, None), inst(4, None), inst(5, None)]
    assert majority_baseline(instances)(instances[0]) == "CA"  # None is never the majority answer
    assert majority_baseline([inst(0, "TX"), inst(1, "AZ")])(instances[0]) == "AZ"  # tie: alphabetical


def _copy_org(url: str, tmp_path: Path) -> str:
    source = make_url(url).database
    target = tmp_path / "org.db"
    shutil.copy(source, target)
    return f"sqlite:///{target}"


def test_cli_build_export_import_show(tiny_org_url: str, tmp_path: Path) -> None:
    from crm_core.cli import build_app

    app = build_app()
    url = _copy_org(tiny_org_url, tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["tasks", "build", "--per-task", "12", "--seed", "5", "--org-db", url])
    assert result.exit_code == 0, result.output
    stored = load_tasks(url)
    assert len(stored) >= 9 * 10 and stored == generate_tasks(url, per_task=12, seed=5)
    for fmt in ("jsonl", "crmarena", "crmarena-v1"):
        out = tmp_path / f"tasks.{fmt}"
        result = runner.invoke(app, ["tasks", "export", "--format", fmt, str(out), "--org-db", url])
        assert result.exit_code == 0, result.output
    assert load_tasks(tmp_path / "tasks.jsonl") == stored
    v1 = json.loads((tmp_path / "tasks.crmarena-v1").read_text())
    assert [(r["type"], r["answer"]) for r in v1] == [(i.task, i.answer or "None") for i in stored]
    result = runner.invoke(app, ["tasks", "import", str(tmp_path / "tasks.crmarena"), "--org-db", url])
    assert result.exit_code == 0, result.output
    assert [i.params for i in load_tasks(url)] == [{}] * len(stored)  # CRMArena's format has no params
    result = runner.invoke(app, ["tasks", "show", "3", "--json", "--org-db", url])
    assert result.exit_code == 0 and '"idx": 3' in result.output


@pytest.mark.postgres
def test_postgres_org_gives_the_same_task_file(tiny_org_url: str, tiny_org_pg_url: str) -> None:
    sqlite_set = generate_tasks(tiny_org_url, per_task=20, seed=4)
    pg_set = generate_tasks(tiny_org_pg_url, per_task=20, seed=4)
    assert dumps_instances(pg_set) == dumps_instances(sqlite_set)
    assert _oracle_mismatches(tiny_org_pg_url, pg_set) == []
    assert _oracle_mismatches(tiny_org_pg_url, pg_set, raw_queries=True) == []


@pytest.fixture(scope="session")
def default_tasks(tmp_path_factory: pytest.TempPathFactory, default_org_url: str) -> list[TaskInstance]:
    """The default org's task set (seed 7), built once per test run and shared by the xdist workers."""

    def build(path: Path) -> None:
        path.write_text(dumps_instances(generate_tasks(default_org_url, seed=7)))

    return load_tasks(shared_file(tmp_path_factory, "default-tasks.jsonl", build))


@pytest.mark.slow
def test_default_set_has_1170_instances(default_tasks: list[TaskInstance]) -> None:
    assert Counter(i.task for i in default_tasks) == {task: 130 for task in TASKS}
    nones = Counter(i.task for i in default_tasks if i.answer is None)
    assert {task: nones[task] for task in NONE_TASKS} == {task: 39 for task in NONE_TASKS}


@pytest.mark.slow
@pytest.mark.parametrize("raw_queries", [False, True], ids=["task-tools", "raw-soql"])
@pytest.mark.parametrize("task", TASKS)
def test_the_oracle_solves_the_default_set(
    default_org_url: str, default_tasks: list[TaskInstance], task: str, raw_queries: bool
) -> None:
    """One task type per test, so that the xdist workers share the work."""
    instances = [i for i in default_tasks if i.task == task]
    assert len(instances) == 130
    assert _oracle_mismatches(default_org_url, instances, raw_queries=raw_queries) == []


@pytest.mark.slow
def test_baselines_stay_at_the_floor_on_the_default_set(
    default_org_url: str, default_tasks: list[TaskInstance]
) -> None:
    _assert_baselines_at_floor(default_org_url, default_tasks)


@pytest.mark.slow
def test_cli_errors_are_one_line(tmp_path: Path, cli) -> None:
    import subprocess
    import sys

    missing = f"sqlite:///{tmp_path / 'none.db'}"
    bad = tmp_path / "bad.json"
    bad.write_text('[{"idx": 0, "task": "handle_time"}]')
    cases = [
        (["tasks", "build", "--org-db", missing], "no org database at"),
        (["tasks", "show", "1", "--org-db", missing], "no org database at"),
        (["tasks", "import", str(bad), "--org-db", missing], "bad.json record 0 (idx 0): field 'query'"),
        (["tasks", "import", str(tmp_path / "nope.json"), "--org-db", missing], "cannot read"),
    ]
    # The first case in a real process; the others through the same `main()` in this process.
    command = [sys.executable, "-m", "crm_core", *cases[0][0]]
    done = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).parents[2], timeout=300)
    results = [(done.returncode, done.stderr)] + [cli(*arguments)[::2] for arguments, _ in cases[1:]]
    for (_, message), (code, stderr) in zip(cases, results, strict=True):
        assert code == 1, stderr
        assert "Traceback" not in stderr
        assert message in stderr.replace("\n", " "), stderr
