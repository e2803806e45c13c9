"""Loading studies: deterministic sampling from the org, idempotent reloads, clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from studyfiles import RECORDS_PER_OBJECT, study_yaml

from crm_core.store import open_app_store
from crm_core.studies import StudyError, list_studies, load_definition, load_study, parse_study

REALISM = Path(__file__).resolve().parents[2] / "studies" / "realism.yaml"


def test_realism_study_loads_records_objects_and_the_org(sessions, id_org):
    org_url, ids = id_org
    with sessions() as session:
        study = load_study(session, REALISM, org_url)
        items = study.items
    records = [i for i in items if i.kind == "record"]
    expected_records = sum(min(3, n) for n in RECORDS_PER_OBJECT.values())  # Pricebook2 has only 1
    assert len(records) == expected_records == 46
    for item in records:
        assert item.record_id in ids[item.object_name]
        assert item.key == f"record:{item.object_name}:{item.record_id}"
    assert sorted(i.object_name for i in items if i.kind == "object") == sorted(RECORDS_PER_OBJECT)
    assert [i.key for i in items if i.kind == "org"] == ["org"]
    assert [i.position for i in items] == list(range(len(items)))


def test_sampling_is_deterministic_and_depends_on_the_seed(tmp_path, id_org):
    def keys(name: str, seed: int) -> list[str]:
        yaml_text = study_yaml(cases=6).replace("per_object: 6", f"per_object: 6\n    seed: {seed}")
        sessions = open_app_store(f"sqlite:///{tmp_path / name}.db")
        with sessions() as session:
            found = [item.key for item in load_definition(session, parse_study(yaml_text), id_org[0]).items]
        sessions.kw["bind"].dispose()
        return found

    first = keys("a", 1)
    assert len(set(first)) == 6
    assert keys("b", 1) == first
    assert keys("c", 2) != first


def test_reloading_is_idempotent_but_a_changed_definition_is_refused(sessions, id_org):
    with sessions() as session:
        one = load_definition(session, parse_study(study_yaml()), id_org[0])
        two = load_definition(session, parse_study(study_yaml()), id_org[0])
        assert [i.id for i in one.items] == [i.id for i in two.items]
        assert session.scalar(text("SELECT count(*) FROM study_items")) == 6
        with pytest.raises(StudyError, match="already loaded with a different definition"):
            load_definition(session, parse_study(study_yaml(ratings_per_item=5)), id_org[0])
        assert [s.id for s in list_studies(session)] == ["cases"]


def test_record_items_need_an_org_with_the_object(sessions, tmp_path):
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    engine = create_engine(empty)
    with engine.begin() as conn:
        conn.execute(text('CREATE TABLE "Account" ("Id" VARCHAR(18))'))
    engine.dispose()
    with sessions() as session:
        with pytest.raises(StudyError, match="give the org database"):
            load_definition(session, parse_study(study_yaml()), None)
        with pytest.raises(StudyError, match="has no Case table: generate the org first"):
            load_definition(session, parse_study(study_yaml()), empty)
        with pytest.raises(StudyError, match="no org database at"):
            load_definition(session, parse_study(study_yaml()), f"sqlite:///{tmp_path / 'missing.db'}")
        assert list_studies(session) == []


def test_the_stored_org_url_keeps_no_password(sessions, id_org, monkeypatch):
    import crm_core.studies.loading as loading

    monkeypatch.setattr(
        loading, "sample_records", lambda url, name, count, seed: [(i, None) for i in id_org[1][name][:count]]
    )
    with sessions() as session:
        study = load_definition(session, parse_study(study_yaml()), "postgresql+psycopg://crm:s3cret@db:5432/org")
        stored = session.scalar(text("SELECT org_url FROM studies"))
    assert study.org_url == stored == "postgresql+psycopg://crm:***@db:5432/org"


def test_realism_study_on_a_generated_tiny_org(sessions, tiny_org_url):
    """The shipped study against the real generator's org: every sample is a real record."""
    from crm_core.org.schema import MODEL_BY_OBJECT

    with sessions() as session:
        items = load_study(session, REALISM, tiny_org_url).items
    org = create_engine(tiny_org_url)
    with org.connect() as conn:
        for name in MODEL_BY_OBJECT:
            sampled = [i.record_id for i in items if i.kind == "record" and i.object_name == name]
            total = conn.scalar(text(f'SELECT count(*) FROM "{name}"'))
            assert len(sampled) == len(set(sampled)) == min(3, total), name
            for record_id in sampled:
                assert conn.scalar(text(f'SELECT count(*) FROM "{name}" WHERE "Id" = :i'), {"i": record_id}) == 1
        case = next(i for i in items if i.object_name == "Case" and i.kind == "record")
        number = conn.scalar(text('SELECT "CaseNumber" FROM "Case" WHERE "Id" = :i'), {"i": case.record_id})
        assert number and case.label == f"Case {number}"
    org.dispose()
    assert sum(1 for i in items if i.kind == "object") == 16
    assert sum(1 for i in items if i.kind == "org") == 1
