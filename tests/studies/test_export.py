"""Export: one row per response and dimension in CSV, JSON and Parquet; raters pseudonymized."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import subprocess
import sys

import pandas as pd
import pytest
from sqlalchemy import text

from crm_core.studies import EXPORT_COLUMNS, export_bytes, export_responses, submit
from crm_core.studies.export import RATED_COLUMNS

ANSWERS = [  # (rater, item position, submission id, values, comments) in submission order
    ("ana", 0, "sub-1", {"data": 4, "overall": 5}, {}),
    ("ben", 0, "sub-2", {"data": 2, "overall": 3}, {"data": 'Subject, line; with "quotes"\nand a newline'}),
    ("ana", 1, "sub-3", {"data": 1, "overall": 1}, {"data": "Ünïcode names", "overall": "all wrong"}),
    ("ana", 0, "sub-4", {"data": 5, "overall": 5}, {}),  # ana changes her mind: version 2
]
LABELS = ["Very unrealistic", "Unrealistic", "Neutral", "Realistic", "Very realistic"]


@pytest.fixture
def answered(sessions, make_study, make_users):
    study = make_study(cases=2, ratings_per_item=2, randomize=False)
    make_users(1, prefix="ana")
    make_users(1, prefix="ben")
    items = {item.position: item for item in study.items}
    with sessions() as session:
        for rater, position, sid, values, comments in ANSWERS:
            submit(session, study.id, items[position].id, f"{rater}00", values, comments, submission_id=sid)
    return study, items


def expected_rows(items, rater_name) -> list[dict]:
    latest = {("ana", 0): "sub-4", ("ben", 0): "sub-2", ("ana", 1): "sub-3"}
    version = {"sub-1": 1, "sub-2": 1, "sub-3": 1, "sub-4": 2}
    rows = []
    for rater, position, sid, values, comments in ANSWERS:
        item = items[position]
        for dimension in ("data", "overall"):
            rows.append(
                {
                    "study_id": "cases",
                    "item_id": item.id,
                    "item_key": f"record:Case:{item.record_id}",
                    "item_kind": "record",
                    "object_name": "Case",
                    "record_id": item.record_id,
                    "rater": rater_name(f"{rater}00"),
                    "submission_id": sid,
                    "version": version[sid],
                    "latest": latest[(rater, position)] == sid,
                    "dimension": dimension,
                    "value": values[dimension],
                    "value_label": LABELS[values[dimension] - 1],
                    "comment": comments.get(dimension, "").strip(),
                }
            )
    return rows


def _comparable(frame: pd.DataFrame) -> list[dict]:
    left_out = {"item_label", "started_at", "submitted_at", "time_on_item_seconds", *RATED_COLUMNS}
    # record items rate no agent run: the workbench columns are blank (empty in CSV)
    assert frame[list(RATED_COLUMNS)].map(lambda v: v is None or v == "" or pd.isna(v)).all().all()
    keep = [c for c in frame.columns if c not in left_out]
    return [{k: (v if not pd.isna(v) else None) for k, v in row.items()} for row in frame[keep].to_dict("records")]


def _load(fmt: str, data: bytes) -> pd.DataFrame:
    if fmt == "csv":
        return pd.read_csv(io.BytesIO(data), keep_default_na=False, dtype={"record_id": str})
    if fmt == "json":
        return pd.DataFrame(json.loads(data))
    return pd.read_parquet(io.BytesIO(data))


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_export_holds_one_row_per_response_and_dimension(sessions, answered, fmt, tmp_path):
    study, items = answered
    with sessions() as session:
        rows = export_responses(session, study.id, fmt, tmp_path / f"out.{fmt}", pseudonymize_raters=False)
    frame = _load(fmt, (tmp_path / f"out.{fmt}").read_bytes())
    assert rows == len(frame) == 8
    assert list(frame.columns) == list(EXPORT_COLUMNS)
    assert _comparable(frame) == expected_rows(items, lambda name: name)
    started = pd.to_datetime(frame["started_at"], utc=True)
    submitted = pd.to_datetime(frame["submitted_at"], utc=True)
    assert (submitted >= started).all() and frame["time_on_item_seconds"].astype(float).ge(0).all()


def test_raters_are_pseudonymized_by_default_with_a_stable_keyed_hash(sessions, answered):
    study, items = answered
    with sessions() as session:
        first = json.loads(export_bytes(session, study.id, "json"))
        key = bytes.fromhex(session.scalar(text("SELECT value FROM app_settings WHERE key = 'pseudonym_key'")))
        second = pd.read_csv(io.BytesIO(export_bytes(session, study.id, "csv")), dtype={"record_id": str})
    assert len(key) == 32

    def pseudonym(name: str) -> str:
        return "rater-" + hmac.new(key, name.encode(), hashlib.sha256).hexdigest()[:12]

    assert _comparable(pd.DataFrame(first)) == expected_rows(items, pseudonym)
    assert list(second["rater"]) == [row["rater"] for row in first]  # stable across exports
    assert pseudonym("ana00") != pseudonym("ben00")
    raw = json.dumps(first)
    assert "ana00" not in raw and "ben00" not in raw


def test_cli_exports_pseudonymized_unless_names_are_asked_for(sessions, answered, app_db_url, tmp_path, cli):
    """The exports through `main()` in this process; the refused format in a real one (one line, exit 1)."""
    study, _ = answered
    sessions.kw["bind"].dispose()
    base = ["export", "responses", "--study", study.id, "--app-db", app_db_url]
    code, out, err = cli(*base, "--format", "csv", str(tmp_path / "a.csv"))
    assert code == 0, err
    assert "Wrote 8 rows" in out
    assert pd.read_csv(tmp_path / "a.csv")["rater"].str.startswith("rater-").all()
    code, _, err = cli(*base, "--format", "parquet", "--names", str(tmp_path / "b.parquet"))
    assert code == 0, err
    assert sorted(set(pd.read_parquet(tmp_path / "b.parquet")["rater"])) == ["ana00", "ben00"]
    bad = subprocess.run(
        [sys.executable, "-m", "crm_core", *base, "--format", "xlsx", str(tmp_path / "c.xlsx")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines()[-1] == "Error: unknown format 'xlsx': use one of csv, json, parquet"


def test_any_comment_survives_every_format(sessions, make_study, make_users):
    """Property: whatever an expert types (commas, quotes, newlines, any script) comes back."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    study = make_study(cases=1)
    (expert,) = make_users(1)
    item_id = study.items[0].id
    comment_text = st.text(st.characters(exclude_categories=("Cs", "Cc")) | st.sampled_from(",;\"'\n\t"), max_size=80)

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(comment=comment_text.filter(lambda c: c.strip()))
    def check(comment: str) -> None:
        with sessions() as session:
            response = submit(session, study.id, item_id, expert, {"data": 1, "overall": 3}, {"data": comment})
            files = {fmt: export_bytes(session, study.id, fmt, pseudonymize_raters=False) for fmt in ("csv", "json")}
            files["parquet"] = export_bytes(session, study.id, "parquet", pseudonymize_raters=False)
        for fmt, data in files.items():
            frame = _load(fmt, data)
            row = frame[(frame["version"] == response.version) & (frame["dimension"] == "data")]
            assert list(row["comment"]) == [comment.strip()], fmt

    check()
