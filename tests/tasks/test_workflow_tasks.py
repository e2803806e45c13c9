"""Workflow task types: a suite apart from CRMArena's nine, ground truth on the state, and three
independent ways to the same changes (the expected diff over SQLAlchemy, the tool solver and the
query solver, each run in a sandbox of its own)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from crm_core.sandbox import Sandbox, make_sandbox_engine
from crm_core.scoring.state import diff_from_changes, score_state
from crm_core.tasks.build import generate_tasks
from crm_core.tasks.records import TaskFileError, TaskInstance, dumps_instances, read_task_file, save_tasks
from crm_core.tasks.registry import spec_of, task_names, task_specs
from crm_core.tasks.tool_oracle import ToolSession
from crm_core.tools import ToolContext

CRMARENA = (
    "knowledge_qa",
    "named_entity_disambiguation",
    "best_region_identification",
    "case_routing",
    "handle_time",
    "transfer_count",
    "monthly_trend_analysis",
    "policy_violation_identification",
    "top_issue_identification",
)


@pytest.fixture(scope="module")
def workflow_instances(tiny_org_url: str) -> list[TaskInstance]:
    return generate_tasks(tiny_org_url, per_task=6, suite="workflow")


def test_the_workflow_suite_stands_apart_from_crmarenas_nine() -> None:
    assert set(task_names()) == set(CRMARENA)
    workflow = task_specs("workflow")
    assert len(workflow) >= 6
    assert {spec.persona for spec in workflow} == {"manager", "analyst", "service_agent"}
    assert {spec.metric for spec in workflow} == {"state_match"}
    assert all(spec.expected_diff is not None and len(spec.phrasings) >= 8 for spec in workflow)
    assert task_names(None) == task_names() + task_names("workflow")


def test_a_workflow_build_numbers_its_own_instances(workflow_instances: list[TaskInstance]) -> None:
    assert Counter(i.task for i in workflow_instances) == dict.fromkeys(task_names("workflow"), 6)
    assert min(i.idx for i in workflow_instances) == 10_000
    assert len({i.idx for i in workflow_instances}) == len(workflow_instances)
    assert all(i.reward_metric == "state_match" and not i.expected_diff.is_empty() for i in workflow_instances)


def _solve(engine, instance: TaskInstance, *, raw: bool):
    """Run one solver in a fresh sandbox; its diff as the state scorer sees it."""
    spec = spec_of(instance.task)
    with Sandbox(engine) as box, box.lock:
        session = ToolSession(ToolContext(box.conn, None, box))
        if raw:
            spec.query_solver(session.call, instance.params)
        else:
            spec.tool_solver(session, instance.params)
        tools = {step.tool for step in session.steps}
        return diff_from_changes(box.diff()), tools


def test_the_three_ways_reach_the_expected_diff(tiny_org_url: str, workflow_instances: list[TaskInstance]) -> None:
    engine = make_sandbox_engine(tiny_org_url)
    try:
        for instance in workflow_instances:
            by_tools, tools = _solve(engine, instance, raw=False)
            by_queries, raw_tools = _solve(engine, instance, raw=True)
            for made in (by_tools, by_queries):
                score = score_state(instance.expected_diff, made)
                assert score.exact, (instance.task, instance.idx, score.missing, score.unexpected)
            # fc has no SOQL; act/react have nothing but SOQL/SOSL and the writes
            assert "issue_soql_query" not in tools
            assert raw_tools <= {"issue_soql_query", "issue_sosl_query", "create_record", "update_record"}
    finally:
        engine.dispose()


def test_the_reference_names_the_change(tiny_org_url: str, workflow_instances: list[TaskInstance]) -> None:
    from crm_core.db import make_readonly_engine

    engine = make_readonly_engine(tiny_org_url)
    try:
        with engine.connect() as conn:
            for instance in workflow_instances:
                spec = spec_of(instance.task)
                assert spec.reference(conn, instance.params) == instance.answer
                assert spec.expected_diff(conn, instance.params) == instance.expected_diff
    finally:
        engine.dispose()


def test_a_task_file_carries_the_expected_diff(tmp_path, workflow_instances: list[TaskInstance]) -> None:
    path = save_tasks(workflow_instances, tmp_path / "workflow.jsonl")
    assert read_task_file(path) == workflow_instances
    first = json.loads(path.read_text().splitlines()[0])
    assert set(first["expected_diff"]) == {"created", "updated", "deleted"}
    as_list = save_tasks(workflow_instances, tmp_path / "workflow.json", fmt="json")
    assert read_task_file(as_list) == workflow_instances
    assert dumps_instances(read_task_file(path)) == path.read_text()


def test_a_read_only_instance_has_no_expected_diff_key(tiny_org_url: str) -> None:
    instances = generate_tasks(tiny_org_url, per_task=1)
    assert all("expected_diff" not in json.loads(line) for line in dumps_instances(instances).splitlines())


def test_a_state_match_record_without_its_diff_is_refused(tmp_path, workflow_instances: list[TaskInstance]) -> None:
    record = workflow_instances[0].to_record()
    del record["expected_diff"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(record) + "\n")
    with pytest.raises(TaskFileError, match=r"bad.jsonl line 1 \(idx 10000\).*expected_diff"):
        read_task_file(bad)
    record["expected_diff"] = {"updated": [{"object": "Case", "fields": {}}]}
    bad.write_text(json.dumps(record) + "\n")
    with pytest.raises(TaskFileError, match=r"field 'expected_diff.updated.0.id'"):
        read_task_file(bad)


def test_building_one_suite_keeps_the_other(tiny_org_url: str, tmp_path) -> None:
    import shutil

    from crm_core.db import sqlite_path
    from crm_core.tasks.build import build_tasks
    from crm_core.tasks.records import load_tasks

    copy = tmp_path / "org.db"
    shutil.copy(sqlite_path(tiny_org_url), copy)
    url = f"sqlite:///{copy}"
    read_only = build_tasks(url, per_task=1)
    workflow = build_tasks(url, per_task=1, suite="workflow")
    assert load_tasks(url) == read_only + workflow
    again = build_tasks(url, per_task=1)  # rebuilding CRMArena's suite leaves the workflow rows alone
    assert load_tasks(url) == again + workflow
