"""Build the task set of an org: run every task type's sampler, number the instances, store them."""

from __future__ import annotations

import random
from collections.abc import Callable

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from crm_core.db import DatabaseURLError, make_readonly_engine
from crm_core.errors import UserFacingError, error_line
from crm_core.org.schema import OrgInfo
from crm_core.tasks.records import TaskInstance, write_tasks_to_org
from crm_core.tasks.registry import task_specs
from crm_core.tasks.sampling import collect, read_org_view
from crm_core.tasks.spec import Suite

DEFAULT_PER_TASK = 130
SUITE_FIRST_IDX: dict[Suite, int] = {"crmarena": 0, "workflow": 10_000}
"""Where each suite's instance numbers start, so suites share the org's task table without clashing."""
ProgressCallback = Callable[[str, int, int], None]


def _readonly(url: str) -> Engine:
    try:
        return make_readonly_engine(url)
    except DatabaseURLError as exc:
        raise UserFacingError(str(exc)) from None


def org_seed(url: str) -> int:
    """The seed the org was generated with (0 when the org does not record one)."""
    engine = _readonly(url)
    try:
        with engine.connect() as conn:
            value = conn.execute(select(OrgInfo.value).where(OrgInfo.key == "seed")).scalar()
    except SQLAlchemyError:
        value = None
    finally:
        engine.dispose()
    return int(value) if value is not None and str(value).lstrip("-").isdigit() else 0


def generate_tasks(
    url: str,
    *,
    per_task: int = DEFAULT_PER_TASK,
    seed: int | None = None,
    progress: ProgressCallback | None = None,
    suite: Suite = "crmarena",
) -> list[TaskInstance]:
    """The task set of `suite` for the org at `url` (read-only), `per_task` instances per task, from `seed`."""
    if per_task < 1:
        raise UserFacingError(f"--per-task must be at least 1, got {per_task}")
    seed = org_seed(url) if seed is None else seed
    engine = _readonly(url)
    instances: list[TaskInstance] = []
    try:
        with engine.connect() as conn:
            view = read_org_view(conn)
            if not view.products or not view.issues:
                raise UserFacingError("the org has no products or issues: generate an org first")
            specs = task_specs(suite)
            samplers = [spec.sampler(conn, view) for spec in specs]
            for number, (spec, sample) in enumerate(zip(specs, samplers, strict=True)):
                rng = random.Random(f"{seed}:{spec.name}")
                drafts = collect(spec.name, per_task, rng, sample, allows_none=spec.allows_none)
                for draft in drafts:
                    instances.append(
                        TaskInstance(
                            idx=SUITE_FIRST_IDX[suite] + len(instances),
                            task=spec.name,
                            persona=spec.persona,
                            query=draft.query,
                            answer=draft.answer,
                            metadata=spec.metadata(draft.today),
                            reward_metric=spec.metric,
                            params=draft.params,
                            expected_diff=draft.expected_diff,
                        )
                    )
                if progress:
                    progress(spec.name, number + 1, len(specs))
    except SQLAlchemyError as exc:
        raise UserFacingError(f"cannot read the org: {error_line(exc)}") from None
    finally:
        engine.dispose()
    return instances


def build_tasks(
    url: str,
    *,
    per_task: int = DEFAULT_PER_TASK,
    seed: int | None = None,
    progress: ProgressCallback | None = None,
    suite: Suite = "crmarena",
) -> list[TaskInstance]:
    """Generate the task set of `suite` and store it in the org database (other suites' instances kept)."""
    instances = generate_tasks(url, per_task=per_task, seed=seed, progress=progress, suite=suite)
    write_tasks_to_org(url, instances, suite=suite)
    return instances
