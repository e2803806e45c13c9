"""Sweep files: what they select, and errors naming the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from crm_core.sweeps.definition import SweepFileError, parse_sweep, read_sweep_file

SWEEPS = Path(__file__).parents[2] / "sweeps"
GOOD = """\
name: two models
org:
  url: sqlite:///data/org.db
models:
  - oracle
  - {name: "openai:gpt-4o-mini", base_url: "http://127.0.0.1:9/v1"}
frameworks: act, fc
trials: 3
tasks: [analyst, knowledge_qa]
limit: 4
providers:
  openai: {concurrency: 2, requests_per_minute: 90}
budget_usd: 5
"""


def problems(text: str) -> list[str]:
    with pytest.raises(SweepFileError) as info:
        parse_sweep(text, "s.yaml")
    return info.value.problems


def test_a_valid_file_selects_runs_tasks_and_limits():
    sweep = parse_sweep(GOOD, "s.yaml")
    assert [(f, m) for f, m, _ in sweep.plan()] == [
        ("act", "oracle"), ("fc", "oracle"), ("act", "openai:gpt-4o-mini"), ("fc", "openai:gpt-4o-mini"),
    ]  # fmt: skip
    assert sweep.task_names() == [
        "top_issue_identification", "monthly_trend_analysis", "best_region_identification", "knowledge_qa",
    ]  # fmt: skip
    assert [m.provider for m in sweep.models] == ["offline", "openai"]
    assert sweep.limits_of("openai").requests_per_minute == 90
    assert sweep.limits_of("anthropic").requests_per_minute is None
    assert sweep.limits_of("openai").rate_window_s == 60  # a minute unless the file says otherwise
    assert sweep.limits_of("anthropic").concurrency is None  # no cap but each worker's own
    assert sweep.budget_usd == 5 and sweep.trials == 3 and sweep.limit == 4


def test_shipped_sweep_files_are_valid():
    files = sorted(SWEEPS.glob("*.yaml"))
    assert any(f.name == "offline_smoke.yaml" for f in files)
    for path in files:
        read_sweep_file(path)
    tools = read_sweep_file(SWEEPS / "tools_vs_soql.yaml")  # same models, tools (fc) against raw queries (react)
    plan = tools.plan()
    assert {f for f, _, _ in plan} == {"fc", "react"}
    assert {m for f, m, _ in plan if f == "fc"} == {m for f, m, _ in plan if f == "react"}
    smoke = read_sweep_file(SWEEPS / "offline_smoke.yaml")
    assert {m.name for m in smoke.models} == {"oracle", "baseline:random"}
    assert len(smoke.frameworks) == 2 and smoke.trials == 2
    assert len(smoke.task_names()) * smoke.limit == 10


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("trials: 3", "trials: 0", "s.yaml:8: trials: Input should be greater than or equal to 1"),
        ("frameworks: act, fc", "frameworks: act, fx", "s.yaml:7: frameworks[1]: Input should be 'act', 'react', 'fc'"),
        ("tasks: [analyst, knowledge_qa]", "tasks: [analyst, knowlege_qa]", "s.yaml:9: tasks[1]: unknown task"),
        ("  openai: {concurrency: 2,", "  openai: {concurrency: -2,", "s.yaml:12: providers.openai.concurrency:"),
        ("budget_usd: 5", "budget_usd: lots", "s.yaml:13: budget_usd: Input should be a valid number"),
        ("per_minute: 90}", "per_minute: 90, rate_window_s: 0}", "s.yaml:12: providers.openai.rate_window_s:"),
        ("  url: sqlite:///data/org.db", "  path: x", "s.yaml:3: org.path: Extra inputs are not permitted"),
        ("  - oracle\n", "  - oracle\n  - oracle\n", "s.yaml:6: models[1]: model 'oracle' is listed twice"),
    ],
)  # fmt: skip
def test_errors_name_the_line_and_the_field(old, new, expected):
    assert old in GOOD
    found = problems(GOOD.replace(old, new))
    assert any(p.startswith(expected) for p in found), found


def test_missing_fields_bad_yaml_and_unreadable_files(tmp_path):
    assert problems("name: x\n") == [
        "s.yaml:1: org: Field required", "s.yaml:1: models: Field required", "s.yaml:1: frameworks: Field required",
    ]  # fmt: skip
    assert problems("name: x\norg: {}\nmodels: [oracle]\nframeworks: [fc]\n") == [
        "s.yaml:2: org: give the org's url, or generate (seed, scale, latent), or both"
    ]
    assert problems("name: [unclosed\n")[0].startswith("s.yaml:2: not valid YAML")
    assert problems("- a list\n") == [
        "s.yaml:1: a sweep file must be a mapping of fields (name, org, models, frameworks, ...)"
    ]
    with pytest.raises(SweepFileError, match="cannot read the sweep file"):
        read_sweep_file(tmp_path / "missing.yaml")


KEYS = ["trials", "limit", "max_turns", "budget_usd"]


@given(st.permutations(KEYS), st.sampled_from(KEYS), st.integers(0, 3))
def test_the_reported_line_is_the_bad_field_s_line_wherever_it_sits(order, bad, blank_lines):
    """Fields in any order, with blank lines between: the error names the line the field is on."""
    lines = ["name: x", "org: {url: 'sqlite:///o.db'}", "models: [oracle]", "frameworks: [fc]"]
    for key in order:
        lines += [""] * blank_lines + [f"{key}: {'-1' if key == bad else '2'}"]
    text = "\n".join(lines) + "\n"
    expected_line = lines.index(f"{bad}: -1") + 1
    found = problems(text)
    assert len(found) == 1 and found[0].startswith(f"s.yaml:{expected_line}: {bad}: "), found
    assert yaml.safe_load(text)[bad] == -1  # the file really has the bad value there


def test_the_studio_refuses_experts_and_names_the_line_of_a_bad_file(tmp_path):
    from crm_core.policy import PermissionDenied
    from crm_core.store.engine import open_app_store
    from crm_core.studio.sweeps import start_sweep

    app = f"sqlite:///{tmp_path / 'app.db'}"
    store = open_app_store(app)
    with pytest.raises(PermissionDenied):
        start_sweep(store, app, "expert", "erin", GOOD, "s.yaml")
    with pytest.raises(SweepFileError, match=r"^edited\.yaml:8: trials: "):
        start_sweep(store, app, "researcher", "rita", GOOD.replace("trials: 3", "trials: -1"), "edited.yaml")
    store.kw["bind"].dispose()


VARIANTS = """\
name: ablation
orgs:
  - {label: latent, generate: {seed: 3, scale: tiny}}
  - label: flat
    generate: {seed: 3, scale: tiny, latent: false}
models: [oracle, baseline:random]
frameworks: [fc]
"""


def test_org_variants_each_get_the_whole_plan_labelled():
    sweep = parse_sweep(VARIANTS, "s.yaml")
    assert sweep.org is None
    assert [(label, org.resolved_url(), m) for label, org, _, m, _ in sweep.variant_plan()] == [
        ("latent", "sqlite:///data/orgs/tiny-seed3.db", "oracle"),
        ("latent", "sqlite:///data/orgs/tiny-seed3.db", "baseline:random"),
        ("flat", "sqlite:///data/orgs/tiny-seed3-flat.db", "oracle"),
        ("flat", "sqlite:///data/orgs/tiny-seed3-flat.db", "baseline:random"),
    ]
    one = parse_sweep(GOOD, "s.yaml")  # a file's one org: no label
    assert [label for label, *_ in one.variant_plan()] == [None] * 4
    ablation = read_sweep_file(SWEEPS / "latent_ablation.yaml")  # same seed and scale, latent on and off
    gens = {label: org.generate for label, org in ablation.variants()}
    assert {label: g.latent for label, g in gens.items()} == {"latent": True, "flat": False}
    assert gens["latent"].model_dump(exclude={"latent"}) == gens["flat"].model_dump(exclude={"latent"})


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("frameworks: [fc]", "org: {url: o.db}\nframeworks: [fc]", "s.yaml:3: orgs: give org (one org) or orgs"),
        ("label: flat", "label: latent", "s.yaml:4: orgs[1].label: label 'latent' is used twice"),
        ("label: flat", "label: no latent", "s.yaml:4: orgs[1].label: String should match pattern"),
        ("latent: false}", "latent: nope}", "s.yaml:5: orgs[1].generate.latent: Input should be a valid boolean"),
        ("latent: false}", "latent: true}", "s.yaml:4: orgs[1]: the same org as another variant"),
        ("  - label: flat\n", "  - label: flat\n    colour: red\n", "s.yaml:5: orgs[1].colour: Extra inputs"),
        ("{label: latent, ", "{", "s.yaml:3: orgs[0].label: Field required"),
    ],
)  # fmt: skip
def test_variant_errors_name_the_line_and_the_field(old, new, expected):
    assert old in VARIANTS
    found = problems(VARIANTS.replace(old, new))
    assert any(p.startswith(expected) for p in found), found
