"""Task files: our formats round-trip byte for byte; CRMArena's variants import; errors name the place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crm_core.tasks.records import (
    TaskFileError,
    TaskInstance,
    load_tasks,
    read_tasks_from_org,
    save_tasks,
    write_tasks_to_org,
)

ORIGINAL = {
    "idx": 7,
    "answer": ["005Wt000003NIiTIAW"],
    "task": "handle_time",
    "persona": "manager",
    "metadata": {"required": "Handle time is ...", "optional": "Today's date: 2021-05-09"},
    "query": "Who is the fastest agent?",
    "reward_metric": "exact_match",
}


def _instances() -> list[TaskInstance]:
    return [
        TaskInstance(
            idx=0,
            task="knowledge_qa",
            persona="service_agent",
            query="How long is the return window? — “quoted” text",
            answer="30 days",
            reward_metric="fuzzy_match",
            params={"article_id": "ka0Hs0000000001AAA", "position": 0},
        ),
        TaskInstance(
            idx=1,
            task="transfer_count",
            persona="manager",
            query="Who transferred the fewest cases?",
            answer=None,
            metadata={"required": "A transfer is ...", "optional": ""},
            reward_metric="exact_match",
            params={"start": "2024-01-01T00:00:00Z", "end": "2024-02-01T00:00:00Z", "n": 3, "extreme": "min"},
        ),
    ]


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_round_trip_and_determinism(tmp_path: Path, fmt: str) -> None:
    first = save_tasks(_instances(), tmp_path / f"a.{fmt}", fmt)
    second = save_tasks(load_tasks(first), tmp_path / f"b.{fmt}", fmt)
    assert first.read_bytes() == second.read_bytes()
    assert load_tasks(second) == _instances()


def test_crmarena_export_matches_the_original_shape(tmp_path: Path) -> None:
    path = save_tasks(_instances(), tmp_path / "crm.json", "crmarena")
    records = json.loads(path.read_text())
    assert records[1]["answer"] == ["None"]
    assert records[0]["answer"] == ["30 days"]
    assert "params" not in records[0]
    assert set(records[0]) == set(ORIGINAL)
    back = load_tasks(path)
    assert [i.answer for i in back] == ["30 days", None]


def test_crmarena_v1_export_has_the_first_release_shape(tmp_path: Path) -> None:
    path = save_tasks(_instances(), tmp_path / "crm-v1.json", "crmarena-v1")
    records = json.loads(path.read_text())
    first_release = {"idx", "answer", "type", "persona", "metadata", "query", "reward_metric"}
    assert [set(r) for r in records] == [first_release, first_release]
    assert [r["answer"] for r in records] == ["30 days", "None"]
    assert [r["type"] for r in records] == ["knowledge_qa", "transfer_count"]
    back = load_tasks(path)
    assert [(i.task, i.answer, i.params) for i in back] == [
        ("knowledge_qa", "30 days", {}),
        ("transfer_count", None, {}),
    ]


@pytest.mark.parametrize(
    ("change", "expected_task", "expected_answer", "expected_required"),
    [
        ({}, "handle_time", "005Wt000003NIiTIAW", "Handle time is ..."),
        ({"type": "handle_time", "task": None}, "handle_time", "005Wt000003NIiTIAW", "Handle time is ..."),
        ({"answer": "005Wt000003NIiTIAW"}, "handle_time", "005Wt000003NIiTIAW", "Handle time is ..."),
        ({"answer": ["None"]}, "handle_time", None, "Handle time is ..."),
        ({"metadata": "Policy text only"}, "handle_time", "005Wt000003NIiTIAW", "Policy text only"),
        ({"persona": "service agent", "task": "knowledge_qa"}, "knowledge_qa", "005Wt000003NIiTIAW", None),
    ],
)
def test_original_variants_import(
    tmp_path: Path, change: dict, expected_task: str, expected_answer: str | None, expected_required: str | None
) -> None:
    record = {**ORIGINAL, **change}
    record = {k: v for k, v in record.items() if v is not None}
    path = tmp_path / "original.json"
    path.write_text(json.dumps([record]))
    (instance,) = load_tasks(path)
    assert instance.task == expected_task
    assert instance.answer == expected_answer
    if expected_required is not None:
        assert instance.metadata.required == expected_required
    assert instance.params == {}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[{"idx": 0}]', "record 0 (idx 0): field 'task'"),
        (
            json.dumps([ORIGINAL, {**ORIGINAL, "idx": 8, "reward_metric": "bleu"}]),
            "record 1 (idx 8): field 'reward_metric'",
        ),
        (json.dumps([{**ORIGINAL, "answer": ["a", "b"]}]), "record 0 (idx 7): field 'answer': expected a one-item"),
        (json.dumps([ORIGINAL, ORIGINAL]), "record 1: field 'idx': duplicate idx 7"),
        (json.dumps([{**ORIGINAL, "task": "astrology"}]), "field 'task'"),
        (json.dumps([{**ORIGINAL, "idx": "seven"}]), "field 'idx'"),
        ("[1, 2]", "record 0: expected an object, got int"),
        ("[{", "line 1: not valid JSON"),
        (json.dumps(ORIGINAL) + "\n{oops\n", "tasks.bad line 2: not valid JSON"),
        (json.dumps({**ORIGINAL, "surprise": 1}), "line 1 (idx 7): field 'surprise'"),
        ("", "no task instances"),
    ],
)
def test_malformed_files_name_the_record_and_field(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "tasks.bad"
    path.write_text(content)
    with pytest.raises(TaskFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_tasks(path)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TaskFileError, match="cannot read"):
        load_tasks(tmp_path / "nope.json")


def test_org_store_round_trip_and_missing_set(sqlite_url: str) -> None:
    from crm_core.db import make_engine

    make_engine(sqlite_url).connect().close()  # create the (empty) database file
    with pytest.raises(Exception, match="no task set"):
        read_tasks_from_org(sqlite_url)
    assert write_tasks_to_org(sqlite_url, _instances()) == 2
    assert load_tasks(sqlite_url) == _instances()
    assert write_tasks_to_org(sqlite_url, _instances()[:1]) == 1  # replaces, never appends
    assert read_tasks_from_org(sqlite_url) == _instances()[:1]


@pytest.mark.postgres
def test_org_store_on_postgres(pg_url: str) -> None:
    assert write_tasks_to_org(pg_url, _instances()) == 2
    assert load_tasks(pg_url) == _instances()
    from sqlalchemy import text

    from crm_core.db import make_readonly_engine

    engine = make_readonly_engine(pg_url)  # the studio reads the set read-only
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM task_instance")).scalar() == 2
    engine.dispose()
