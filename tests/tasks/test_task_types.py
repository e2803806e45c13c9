"""Task types as specs: the registry collects one module per type, the three solvers of every
type agree on every instance, and a new type written as one module is built, solved and scored."""

from __future__ import annotations

import datetime as dt
import json
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

import crm_core.tasks.types
from crm_core.db import make_readonly_engine
from crm_core.tasks import registry
from crm_core.tasks.baselines import answer_pools
from crm_core.tasks.build import generate_tasks
from crm_core.tasks.oracle import solve
from crm_core.tasks.records import TaskFileError, TaskInstance, parse_record, save_tasks
from crm_core.tasks.registry import UnknownTaskError, spec_of, task_names, task_specs
from crm_core.tools import ToolContext

# CRMArena's nine tasks and their personas, in the paper's order (manager, analyst, service agent).
CRMARENA = {
    "case_routing": "manager",
    "handle_time": "manager",
    "transfer_count": "manager",
    "top_issue_identification": "analyst",
    "monthly_trend_analysis": "analyst",
    "best_region_identification": "analyst",
    "named_entity_disambiguation": "service_agent",
    "policy_violation_identification": "service_agent",
    "knowledge_qa": "service_agent",
}


def test_the_registry_holds_crmarenas_nine_tasks_in_order() -> None:
    assert task_names() == tuple(CRMARENA)
    assert {spec.name: spec.persona for spec in task_specs()} == CRMARENA
    assert [spec.name for spec in task_specs() if spec.metric == "fuzzy_match"] == ["knowledge_qa"]
    assert len({spec.order for spec in task_specs()}) == len(CRMARENA)
    for spec in task_specs():
        assert len(set(spec.phrasings)) >= 8, spec.name
        assert spec.required.strip(), spec.name
        assert spec_of(spec.name) is spec


def test_an_unknown_task_is_refused_with_the_known_ones() -> None:
    with pytest.raises(UnknownTaskError, match="unknown task 'astrology'; tasks are case_routing, handle_time"):
        spec_of("astrology")
    record = {"idx": 0, "task": "astrology", "persona": "analyst", "query": "q", "answer": "a"}
    with pytest.raises(TaskFileError, match=r"tasks.json record 0 \(idx 0\): field 'task': .*unknown task 'astrology'"):
        parse_record({**record, "reward_metric": "exact_match"}, "tasks.json record 0")


def test_metadata_states_the_policy_the_period_rules_and_today() -> None:
    periodic, plain = spec_of("handle_time"), spec_of("case_routing")
    relative = periodic.metadata("2024-05-02")
    assert relative["required"] == f"Today's date: 2024-05-02. {periodic.required}"
    assert relative["optional"].startswith("Periods are half-open") and relative["optional"].endswith("UTC.")
    assert plain.metadata() == {"required": plain.required, "optional": "Dates and times in the org are UTC."}


def _answers(conn, instance: TaskInstance) -> dict[str, str | None]:
    spec = spec_of(instance.task)
    today = instance.params.get("today")
    ctx = ToolContext(conn, dt.date.fromisoformat(today) if today else None)
    return {
        "reference": spec.reference(conn, instance.params),
        "tools": solve(instance, ctx).answer,
        "queries": solve(instance, ctx, raw_queries=True).answer,
    }


def test_reference_tool_and_query_solvers_agree_on_every_instance(tiny_org_url: str) -> None:
    instances = generate_tasks(tiny_org_url, per_task=15, seed=23)
    assert {i.task for i in instances} == set(CRMARENA)
    engine = make_readonly_engine(tiny_org_url)
    with engine.connect() as conn:
        disagreements = [
            (i.idx, i.task, i.answer, answers)
            for i in instances
            if set((answers := _answers(conn, i)).values()) != {i.answer}
        ]
    engine.dispose()
    assert disagreements == []


# A task type written the way docs/tasks.md says: one module in the types package, nothing else.
CASE_OWNER_MODULE = '''
"""case_owner (manager): who owns a given case."""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import Connection, select

from crm_core.org.schema import Case
from crm_core.tasks import query_oracle as q
from crm_core.tasks.sampling import Draft, OrgView, Sampler, fill, user_ids
from crm_core.tasks.spec import TaskSpec
from crm_core.tasks.tool_oracle import ToolSession, single

PHRASINGS = tuple(
    f"{opening} case {{case_id}}?"
    for opening in ("Who owns", "Which agent owns", "Who is the owner of", "Which agent has", "Who holds",
                    "Who is assigned", "Which agent is on", "Who currently has")
)


def reference(conn: Connection, p: dict[str, Any]) -> str | None:
    return conn.execute(select(Case.OwnerId).where(Case.Id == p["case_id"])).scalar_one()


def sampler(conn: Connection, view: OrgView) -> Sampler:
    case_ids = [row[0] for row in conn.execute(select(Case.Id).order_by(Case.Id))]

    def sample(rng: random.Random, want_none: bool) -> Draft | None:
        params = {"case_id": rng.choice(case_ids)}
        return Draft(fill(rng.choice(PHRASINGS), **params), reference(conn, params), params)

    return sample


def solve_with_tools(s: ToolSession, p: dict[str, Any]) -> str | None:
    return single([case["OwnerId"] for case in s.call("get_cases", case_ids=[p["case_id"]])])


def solve_with_queries(call: q.Call, p: dict[str, Any]) -> str | None:
    found = q.soql(call, "SELECT OwnerId FROM Case WHERE Id = " + q.quoted(p["case_id"]))
    return found[0]["OwnerId"] if found else None


SPEC = TaskSpec(
    name="case_owner",
    order=1000,
    persona="manager",
    metric="exact_match",
    phrasings=PHRASINGS,
    required="The owner of a case is its OwnerId. Answer with the User Id only.",
    sampler=sampler,
    reference=reference,
    tool_solver=solve_with_tools,
    query_solver=solve_with_queries,
    answer_pool=user_ids,
)
'''


@pytest.fixture
def case_owner_type(tmp_path: Path, monkeypatch):
    """The module above dropped into the types package (a second folder of it), then removed."""
    folder = tmp_path / "more_types"
    folder.mkdir()
    (folder / "case_owner.py").write_text(textwrap.dedent(CASE_OWNER_MODULE), encoding="utf-8")
    monkeypatch.setattr(crm_core.tasks.types, "__path__", [*crm_core.tasks.types.__path__, str(folder)])
    registry.reset()
    yield
    monkeypatch.undo()
    registry.reset()
    sys.modules.pop("crm_core.tasks.types.case_owner", None)


def test_a_new_task_type_in_one_module_is_built_solved_and_scored(case_owner_type, tiny_org_url, tmp_path) -> None:
    assert task_names() == (*CRMARENA, "case_owner")
    instances = generate_tasks(tiny_org_url, per_task=4, seed=3)
    owned = [i for i in instances if i.task == "case_owner"]
    assert len(owned) == 4 and [i.idx for i in instances] == list(range(len(instances)))
    assert owned[-1] is instances[-1]  # after the nine, by its order
    for instance in owned:
        assert instance.persona == "manager" and instance.reward_metric == "exact_match"
        assert instance.query.startswith("Wh") and instance.params["case_id"] in instance.query
        assert instance.metadata.required == "The owner of a case is its OwnerId. Answer with the User Id only."
        assert instance.answer is not None and instance.answer.startswith("005")
    engine = make_readonly_engine(tiny_org_url)
    with engine.connect() as conn:
        assert all(set(_answers(conn, i).values()) == {i.answer} for i in owned)
        assert answer_pools(conn)["case_owner"] == answer_pools(conn)["handle_time"]
    engine.dispose()

    from crm_core.cli import build_app

    app = build_app()
    task_file = save_tasks(instances, tmp_path / "tasks.jsonl")
    where = ["--org-db", tiny_org_url, "--app-db", f"sqlite:///{tmp_path / 'app.db'}"]
    runner = CliRunner()
    for framework in ("fc", "act"):
        run = ["run", "-f", framework, "-m", "oracle", "--tasks", "case_owner", "--task-file", str(task_file)]
        result = runner.invoke(app, [*run, "--run-id", framework, *where])
        assert result.exit_code == 0, result.output
        result = runner.invoke(app, ["score", framework, "--json", "--app-db", where[-1]])
        report = json.loads(result.output)
        assert (report["per_task"], report["completed"]) == ({"case_owner": 1.0}, 4)


def test_the_throwaway_type_is_gone_afterwards() -> None:
    assert "case_owner" not in task_names()


def test_solvers_agree_when_long_in_lists_go_in_pieces(tiny_org_url: str, monkeypatch) -> None:
    """Tools and query solvers send long ``IN`` lists in pieces; the answers stay the same."""
    from crm_core.tasks import query_oracle
    from crm_core.tools import base as tools_base

    pieces: list[int] = []
    chunks = tools_base.soql_in_chunks

    def counted(values: list[str]) -> list[str]:
        pieces.append(len(result := chunks(values)))
        return result

    monkeypatch.setattr(tools_base, "IN_CHUNK", 3)
    monkeypatch.setattr(query_oracle, "IN_CHUNK", 3)
    monkeypatch.setattr(tools_base, "soql_in_chunks", counted)
    import crm_core.tools.cases as case_tools

    monkeypatch.setattr(case_tools, "soql_in_chunks", counted)
    test_reference_tool_and_query_solvers_agree_on_every_instance(tiny_org_url)
    assert max(pieces) > 1
