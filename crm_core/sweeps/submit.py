"""Submitting a sweep: make sure each org exists (generating it if the file says how), plan one
run per org variant × model × framework over the selected instances, and queue every episode.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from crm_core.agents.run_store import load_run
from crm_core.agents.service import RunConfig, prepare
from crm_core.db import DatabaseURLError, display_url, make_readonly_engine
from crm_core.errors import UserFacingError
from crm_core.org.generator import generate_org
from crm_core.org.schema import OrgInfo
from crm_core.sweeps.definition import GenerateSpec, OrgSpec, SweepDefinition
from crm_core.sweeps.store import EpisodeKey, PlannedRun, create_sweep, new_sweep_id
from crm_core.tasks.build import build_tasks
from crm_core.tasks.records import load_tasks

Progress = Callable[[str, int, int], None]


def _org_info(url: str) -> dict[str, str] | None:
    """The org's ``org_info`` (seed, scale, latent ...), or None when there is no org at `url`."""
    try:
        engine = make_readonly_engine(url)
    except DatabaseURLError:
        return None
    try:
        with engine.connect() as conn:
            return {row.key: row.value for row in conn.execute(select(OrgInfo.__table__))}
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()


def ensure_org(org: OrgSpec, progress: Progress | None = None) -> str:
    """The org's URL; a missing org that the file says how to generate is generated (with tasks)."""
    url = org.resolved_url()
    info = _org_info(url)
    spec = org.generate
    if info is None:
        if spec is None:
            raise UserFacingError(f"no generated org at {display_url(url)}: generate it, or give org.generate")
        _generate(url, spec, progress)
        return url
    if spec is not None:
        found = (info.get("seed"), info.get("scale"), info.get("latent"))
        wanted = (str(spec.seed), spec.scale, "true" if spec.latent else "false")
        if found != wanted:
            raise UserFacingError(
                f"the org at {display_url(url)} has seed {found[0]}, scale {found[1]}, latent {found[2]}, "
                f"not seed {wanted[0]}, scale {wanted[1]}, latent {wanted[2]}: give another org.url"
            )
    return url


def _generate(url: str, spec: GenerateSpec, progress: Progress | None) -> None:

    generate_org(url, scale=spec.scale, seed=spec.seed, latent=spec.latent, progress=progress)
    build_tasks(url, progress=(lambda task, done, total: progress("tasks", done, total)) if progress else None)


def run_id_of(sweep_id: str, number: int, framework: str, model: str, variant: str | None = None) -> str:
    """The id of a sweep's run: sweep id, its number, org variant (if any), framework and model
    (64 characters at most)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", model).strip("-")
    label = f"-{variant}" if variant else ""
    return f"{sweep_id}-{number:02d}{label}-{framework}-{slug}"[:64]


def plan_runs(
    definition: SweepDefinition,
    org_urls: dict[str | None, str],
    sweep_id: str,
    store: sessionmaker[Session],
) -> list[PlannedRun]:
    """Prepare (check and store) one run per org variant × model × framework through the run
    service; `org_urls` maps each variant label to its org."""
    tasks = definition.task_names()
    task_sets = {label: load_tasks(url) for label, url in org_urls.items()}
    planned: list[PlannedRun] = []
    for number, (variant, _, framework, model, spec) in enumerate(definition.variant_plan(), start=1):
        if model.startswith("replay:"):
            replayed = load_run(store, model.split(":", 1)[1])
            if replayed is None:
                raise UserFacingError(f"model {model}: no run {model.split(':', 1)[1]!r} in the app store")
            if replayed.framework != framework:
                raise UserFacingError(
                    f"model {model} replays a {replayed.framework} run, not {framework}: "
                    "write replay:...{framework}... to replay one run per framework"
                )
        config = RunConfig(
            run_id=run_id_of(sweep_id, number, framework, model, variant),
            framework=framework,
            model=model,
            base_url=spec.base_url,
            tasks=tasks,
            limit=definition.limit,
            trials=definition.trials,
            max_turns=definition.max_turns,
            org_db=org_urls[variant],
        )
        prepared = prepare(config, store=store, task_set=task_sets[variant])
        prepared.close()
        keys = [(i.idx, t) for i in prepared.instances for t in range(prepared.run.trials)]
        planned.append(
            PlannedRun(run=prepared.run, provider=spec.provider, keys=keys, org_url=org_urls[variant], variant=variant)
        )
    return planned


def submit(
    store: sessionmaker[Session],
    definition: SweepDefinition,
    *,
    source: str,
    backend: str,
    created_by: str | None = None,
    progress: Progress | None = None,
) -> tuple[str, list[EpisodeKey]]:
    """Check the org and models, store the sweep and every episode as queued; (sweep id, keys)."""
    org_urls = {label: ensure_org(org, progress) for label, org in definition.variants()}
    sweep_id = new_sweep_id()
    runs = plan_runs(definition, org_urls, sweep_id, store)
    keys = create_sweep(
        store,
        sweep_id,
        definition,
        source=source,
        org_url=next(iter(org_urls.values())),
        backend=backend,
        runs=runs,
        created_by=created_by,
    )
    return sweep_id, keys
