"""Study files: the shipped realism study is valid; errors name the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from studyfiles import study_yaml

from crm_core.org.schema import MODEL_BY_OBJECT
from crm_core.studies import StudyFileError, parse_study, read_study_file

REALISM = Path(__file__).resolve().parents[2] / "studies" / "realism.yaml"
LABELS = ["Very unrealistic", "Unrealistic", "Neutral", "Realistic", "Very realistic"]


def problems_of(text: str, source: str = "s.yaml") -> list[str]:
    with pytest.raises(StudyFileError) as caught:
        parse_study(text, source)
    return caught.value.problems


def test_realism_study_is_the_papers_expert_study():
    study = read_study_file(REALISM)
    assert study.scale == LABELS
    assert study.ratings_per_item >= 2 and study.randomize_order
    kinds = {spec.kind for spec in study.items}
    assert kinds == {"records", "objects", "org"}
    records = next(spec for spec in study.items if spec.kind == "records")
    assert set(records.objects) == set(MODEL_BY_OBJECT) and records.per_object == 3
    for dim in study.dimensions:
        assert dim.comment_required_at_or_below == 2  # comment at "Unrealistic" and below
    for kind in ("record", "object", "org"):
        assert study.dimensions_for(kind)


def test_errors_name_file_line_and_field():
    text = (
        "id: t1\n"  # 1
        "title: T\n"  # 2
        "instructions: go\n"  # 3
        "scale: [a, b, c]\n"  # 4
        "dimensions:\n"  # 5
        "  - id: d1\n"  # 6
        "    question: q\n"  # 7
        "    comment_required_at_or_below: -1\n"  # 8
        "items:\n"  # 9
        "  - kind: records\n"  # 10
        "    objects:\n"  # 11
        "      - Case\n"  # 12
        "      - Opportunity\n"  # 13
        "    per_object: zero\n"  # 14
        "  - kind: org\n"  # 15
        "    colour: red\n"  # 16
        "  - kind: trajectories\n"  # 17
    )
    problems = problems_of(text, "studies/t1.yaml")
    assert len(problems) == 5
    expected = [
        ("studies/t1.yaml:8: dimensions[0].comment_required_at_or_below:", "greater than or equal to 0"),
        ("studies/t1.yaml:13: items[0].objects[1]:", "unknown object 'Opportunity'"),
        ("studies/t1.yaml:14: items[0].per_object:", "valid integer"),
        ("studies/t1.yaml:16: items[1].colour:", "Extra inputs"),
        ("studies/t1.yaml:17: items[2]:", "'kind' must be one of records, objects, org"),
    ]
    for problem, (prefix, fragment) in zip(sorted(problems, key=lambda p: int(p.split(":")[1])), expected, strict=True):
        assert problem.startswith(prefix), problem
        assert fragment in problem, problem


def test_missing_field_points_at_its_mapping():
    text = "id: t1\ntitle: T\nscale: [a, b]\ndimensions:\n  - question: q\nitems:\n  - kind: org\n"
    problems = problems_of(text)
    assert "s.yaml:1: instructions: Field required" in problems
    assert "s.yaml:5: dimensions[0].id: Field required" in problems


def test_semantic_errors_have_lines_too():
    text = (
        "id: t1\ntitle: T\ninstructions: x\nscale: [a, b, c]\n"  # 1-4
        "dimensions:\n"  # 5
        "  - id: d\n    question: q\n    applies_to: [record]\n"  # 6-8
        "  - id: d\n    question: q2\n    applies_to: [record]\n    comment_required_at_or_below: 4\n"  # 9-12
        "items:\n  - kind: org\n"  # 13-14
    )
    problems = problems_of(text)
    assert "s.yaml:9: dimensions[1].id: duplicate dimension id 'd'" in problems
    too_high = "s.yaml:12: dimensions[1].comment_required_at_or_below: must be at most 3"
    assert any(p.startswith(too_high) for p in problems)
    assert any(p.startswith("s.yaml:14: items[0].kind: no dimension applies to 'org'") for p in problems)


def test_yaml_syntax_error_names_the_line():
    problems = problems_of("id: t1\ntitle: [unclosed\ninstructions: x\n")
    assert len(problems) == 1 and problems[0].startswith("s.yaml:")
    assert "not valid YAML" in problems[0]


def test_not_a_mapping_and_unreadable_file(tmp_path):
    assert problems_of("- just\n- a list\n") == ["s.yaml:1: a study file must be a mapping of fields (id, title, ...)"]
    with pytest.raises(StudyFileError, match="cannot read the study file"):
        read_study_file(tmp_path / "missing.yaml")


@given(
    padding=st.integers(min_value=0, max_value=30),
    bad=st.one_of(st.integers(max_value=0), st.integers(min_value=1001)),
)
def test_line_of_a_bad_value_follows_its_position(padding, bad):
    """Whatever comes before it, a bad ``per_object`` is reported at its own line."""
    text = "# comment\n" * padding + study_yaml().replace("per_object: 6", f"per_object: {bad}")
    line = text.splitlines().index(f"    per_object: {bad}") + 1
    problems = problems_of(text)
    assert len(problems) == 1
    assert problems[0].startswith(f"s.yaml:{line}: items[0].per_object: ")


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=20))
def test_objects_are_checked_against_the_org_schema(name):
    text = study_yaml().replace("objects: [Case]", f'objects: [Case, "{name}"]')
    if name in MODEL_BY_OBJECT:
        assert parse_study(text).items[0].objects == ["Case", name]
    else:
        problems = problems_of(text)
        assert len(problems) == 1 and f"items[0].objects[1]: unknown object '{name}'" in problems[0]


def test_the_papers_expert_study_file() -> None:
    from crm_core.studio.workbench import uses_workbench

    study = read_study_file(REALISM.parent / "expert_study.yaml")
    # three parts: explore, work in the Task Workbench, rate against the systems the expert uses
    for part in ("Part 1 - explore", "Part 2 - work", "Part 3 - rate"):
        assert part in study.instructions
    assert study.scale[3] == "Realistic"
    assert {d.id for d in study.dimensions_for("org")} >= {"work_realism", "overall"}
    assert not uses_workbench(study)  # its ratings belong on the Results page's realism tab
