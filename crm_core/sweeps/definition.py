"""Sweep files (``sweeps/*.yaml``): models × frameworks × trials over one org (or over labelled
variants of it), validated with errors naming the file, the line and the field.

A sweep names the org (a database URL, or how to generate it: seed, scale, latent variables on or
off) or, under ``orgs``, several labelled variants (``latent`` and ``flat``) that each get the
whole models × frameworks plan, the models and frameworks to cross, the trials, which tasks (task names or personas) and
how many instances of each, the providers' limits (episodes at once and requests per minute,
both across all workers) and a cost budget after which no new episode starts.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from crm_core.agents.models import RetryPolicy
from crm_core.tasks.registry import spec_of, task_names, task_specs
from crm_core.yaml_files import YamlFileError, parse_yaml_model, read_text_file

FrameworkName = Literal["act", "react", "fc", "fc_flex"]
OFFLINE_PROVIDER = "offline"
"""The provider of the models shipped with the project (oracle, baselines, replay): no limits, no cost."""


class SweepFileError(YamlFileError):
    """A sweep file that cannot be used; ``problems`` lists ``file:line: field: message``."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GenerateSpec(Strict):
    """How to generate the org when it does not exist yet (as ``generate`` would)."""

    seed: int = 0
    scale: Literal["tiny", "default", "large", "xl"] = "default"
    latent: bool = True


class OrgSpec(Strict):
    """The org: an existing database `url`, or `generate` (into `url`, or a file named after it)."""

    url: str | None = None
    generate: GenerateSpec | None = None

    @model_validator(mode="after")
    def _one_source(self) -> OrgSpec:
        if self.url is None and self.generate is None:
            raise ValueError("give the org's url, or generate (seed, scale, latent), or both")
        return self

    def resolved_url(self) -> str:
        """The org's database URL; a generated org without one goes to ``data/orgs/``."""
        if self.url is not None:
            return self.url
        assert self.generate is not None
        flat = "" if self.generate.latent else "-flat"
        return f"sqlite:///data/orgs/{self.generate.scale}-seed{self.generate.seed}{flat}.db"


class OrgVariant(OrgSpec):
    """One org of an ablation (``orgs:``): a label naming its runs, and the org as under ``org:``."""

    label: Annotated[str, Field(min_length=1, max_length=24, pattern=r"^[A-Za-z0-9_-]+$")]


def _model_entry(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value


class ModelSpec(Strict):
    """A model: ``provider:model`` or an offline model; `base_url` for an OpenAI-compatible server.

    ``{framework}`` in the name is replaced by each framework (``replay:base-{framework}``).
    """

    name: Annotated[str, Field(min_length=1)]
    base_url: str | None = None

    @property
    def provider(self) -> str:
        """The provider whose limits apply (``offline`` for oracle, baselines and replay)."""
        if self.name == "oracle" or self.name.startswith(("baseline:", "replay:")):
            return OFFLINE_PROVIDER
        if ":" not in self.name:
            return "openai"  # a bare name on an OpenAI-compatible server
        return self.name.split(":", 1)[0]

    def for_framework(self, framework: str) -> str:
        """The model string of the run with `framework`."""
        return self.name.replace("{framework}", framework)


class ProviderLimits(Strict):
    """Limits of one provider across all workers: episodes at once, model calls per minute.

    Unset limits do not apply (each worker's ``-c`` still bounds its episodes).
    `rate_window_s` is the provider's counting window when it is not a minute (1 for a limit
    per second): `requests_per_minute` is then the most calls in any such window.
    """

    concurrency: int | None = Field(default=None, ge=1)
    requests_per_minute: float | None = Field(default=None, gt=0)
    rate_window_s: float = Field(default=60.0, gt=0, le=3600)


def _as_list(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class SweepDefinition(Strict):
    """A sweep file's content (see the module docstring)."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: str = ""
    org: OrgSpec | None
    orgs: list[OrgVariant] | None = Field(default=None, min_length=1)
    models: Annotated[
        list[ModelSpec],
        BeforeValidator(lambda v: [_model_entry(x) for x in v] if isinstance(v, list) else v),
        Field(min_length=1),
    ]
    frameworks: Annotated[list[FrameworkName], BeforeValidator(_as_list), Field(min_length=1)]
    trials: int = Field(default=1, ge=1)
    tasks: Annotated[list[str], BeforeValidator(_as_list)] = Field(default_factory=lambda: ["all"])
    limit: int | None = Field(default=None, ge=1, description="At most this many instances per task.")
    max_turns: int = Field(default=20, ge=1)
    providers: dict[str, ProviderLimits] = Field(default_factory=dict)
    budget_usd: float | None = Field(default=None, gt=0)
    retry: RetryPolicy = Field(default_factory=lambda: RetryPolicy(attempts=10))

    @model_validator(mode="before")
    @classmethod
    def _org_or_orgs(cls, data: Any) -> Any:
        if isinstance(data, dict) and "orgs" in data and "org" not in data:
            return {**data, "org": None}  # variants replace the one org
        return data

    def variants(self) -> list[tuple[str | None, OrgSpec]]:
        """(label, org) of each org of the sweep; the label is None for a file's one ``org``."""
        if self.orgs is not None:
            return [(v.label, v) for v in self.orgs]
        assert self.org is not None
        return [(None, self.org)]

    def task_names(self) -> list[str]:
        """The selected task names, in the benchmark's order (personas expand to their tasks)."""
        if "all" in self.tasks:
            return list(task_names())
        wanted = set(self.tasks)
        return [t for t in task_names() if t in wanted or spec_of(t).persona in wanted]

    def limits_of(self, provider: str) -> ProviderLimits:
        """The limits of `provider` (defaults when the file does not name it)."""
        return self.providers.get(provider, ProviderLimits())

    def plan(self) -> list[tuple[str, str, ModelSpec]]:
        """(framework, model string, model spec) of the runs on each org, models first."""
        return [(f, m.for_framework(f), m) for m in self.models for f in self.frameworks]

    def variant_plan(self) -> list[tuple[str | None, OrgSpec, str, str, ModelSpec]]:
        """(variant label, org, framework, model string, model spec) of every run, variants first."""
        return [(label, org, *run) for label, org in self.variants() for run in self.plan()]


def _semantic_problems(sweep: SweepDefinition) -> list[tuple[tuple[Any, ...], str]]:

    problems: list[tuple[tuple[Any, ...], str]] = []
    if sweep.org is not None and sweep.orgs is not None:
        problems.append((("orgs",), "give org (one org) or orgs (labelled variants), not both"))
    if sweep.org is None and sweep.orgs is None:
        problems.append((("org",), "give the org's url, or generate (seed, scale, latent), or orgs (variants)"))
    labels: set[str] = set()
    urls: set[str] = set()
    for i, variant in enumerate(sweep.orgs or []):
        if variant.label in labels:
            problems.append((("orgs", i, "label"), f"label {variant.label!r} is used twice"))
        if variant.resolved_url() in urls:
            problems.append((("orgs", i), f"the same org as another variant ({variant.resolved_url()})"))
        labels.add(variant.label)
        urls.add(variant.resolved_url())
    personas = sorted({spec.persona for spec in task_specs()})
    known = {"all", *(spec.name for spec in task_specs()), *personas}
    personas_text = ", ".join(personas)
    for i, name in enumerate(sweep.tasks):
        if name not in known:
            problems.append(
                (
                    ("tasks", i),
                    f"unknown task {name!r}: use all, a persona ({personas_text}) or a task name",
                )
            )
    seen: set[str] = set()
    for i, model in enumerate(sweep.models):
        if model.name in seen:
            problems.append((("models", i), f"model {model.name!r} is listed twice"))
        seen.add(model.name)
        if model.name.startswith("replay:") and len(model.name) == len("replay:"):
            problems.append((("models", i), "replay needs a run id: replay:RUN_ID (may contain {framework})"))
    if len(set(sweep.frameworks)) != len(sweep.frameworks):
        problems.append((("frameworks",), "a framework is listed twice"))
    for provider in sweep.providers:
        if not re.fullmatch(r"[a-z0-9_-]+", provider):
            problems.append((("providers", provider), f"provider {provider!r}: use the prefix of provider:model"))
    return problems


def parse_sweep(text: str, source: str = "<sweep>") -> SweepDefinition:
    """Validate sweep YAML `text`; errors name `source`, the line and the field."""
    return parse_yaml_model(
        text,
        source,
        SweepDefinition,
        error=SweepFileError,
        what="sweep file",
        fields_hint=" (name, org, models, frameworks, ...)",
        semantic=_semantic_problems,
    )


def read_sweep_file(path: str | Path) -> SweepDefinition:
    """Read and validate the sweep file at `path`."""
    return parse_sweep(read_text_file(str(path), SweepFileError, "sweep file"), str(path))
