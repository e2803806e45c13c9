"""A studio with a task set and agent runs: a copy of the tiny org, 1 instance per task, two runs.

The runs are made by the same library calls as ``python -m crm_core run``: ``oracle`` (reaches
the reference answer on every instance) and ``baseline:random`` (a floor), both in ``act``.
Used by the workbench, replay and results tests (AppTest and Chromium).
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from streamlit.testing.v1 import AppTest

from crm_core.agents.environment import OrgEnvironment
from crm_core.agents.frameworks import make_framework
from crm_core.agents.records import RunRecord
from crm_core.agents.run_store import save_run
from crm_core.agents.runner import execute_run, instances_digest
from crm_core.agents.service import resolve_model
from crm_core.store import open_app_store, utc_now
from crm_core.tasks.build import build_tasks
from crm_core.tasks.records import TaskInstance
from crm_core.tasks.registry import task_names
from crm_core.users import add_user

ROOT = Path(__file__).resolve().parents[2]
ORACLE_RUN = "oracle-act"
BASELINE_RUN = "random-act"


@dataclass
class RunsStudio:
    """Databases of the studio and the task set they hold."""

    org_url: str
    app_url: str
    instances: list[TaskInstance]

    def env(self, secrets: Path) -> dict[str, str]:
        return {"CRM_ORG_DB": self.org_url, "CRM_APP_DB": self.app_url, "CRM_SECRETS_FILE": str(secrets)}


def open_page(script: str, username: str, role: str, query: dict[str, str] | None = None) -> AppTest:
    """Run a page script of the repository as a signed-in `username` with `role` (AppTest)."""
    at = AppTest.from_file(str(ROOT / script), default_timeout=90)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = username
    at.session_state["roles"] = [role]
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def record_run(
    app_url: str,
    org_url: str,
    run_id: str,
    model: str,
    instances: list[TaskInstance],
    *,
    framework: str = "act",
    trials: int = 1,
) -> None:
    """Run `model` in `framework` over `instances` (`trials` times each) into the app store, as the CLI does."""
    store = open_app_store(app_url)
    env = OrgEnvironment.open(org_url)
    try:
        source = resolve_model(model, store=store)
        record = RunRecord(
            run_id=run_id,
            framework=framework,  # type: ignore[arg-type]
            model=model,
            tasks=list(task_names()),
            trials=trials,
            instances_digest=instances_digest(instances),
            created_at=utc_now(),
        )
        save_run(store, record, planned=len(instances) * trials)
        agent = make_framework(framework, env.tool_schemas)
        # in a thread of its own: Playwright's sync API may hold an event loop in this one
        with ThreadPoolExecutor(1) as pool:
            pool.submit(execute_run, record, instances, source=source, framework=agent, env=env, store=store).result()
    finally:
        env.engine.dispose()
        store.kw["bind"].dispose()


def empty_studio(
    folder: Path, tiny_org_url: str, users: dict[str, str], password: str, *, per_task: int = 1
) -> RunsStudio:
    """Copy the tiny org into `folder`, build its task set (`per_task` instances a task), add `users`."""
    org_path = folder / "org.db"
    shutil.copy(tiny_org_url.removeprefix("sqlite:///"), org_path)
    org_url = f"sqlite:///{org_path}"
    instances = build_tasks(org_url, per_task=per_task)
    app_url = f"sqlite:///{folder / 'app.db'}"
    store = open_app_store(app_url)
    with store() as session:
        for username, role in users.items():
            add_user(session, username, role, password)
    store.kw["bind"].dispose()
    return RunsStudio(org_url=org_url, app_url=app_url, instances=instances)


def build_runs_studio(folder: Path, tiny_org_url: str, users: dict[str, str], password: str) -> RunsStudio:
    """:func:`empty_studio` with one instance a task, and the oracle's and the random baseline's runs."""
    studio = empty_studio(folder, tiny_org_url, users, password)
    record_run(studio.app_url, studio.org_url, ORACLE_RUN, "oracle", studio.instances)
    record_run(studio.app_url, studio.org_url, BASELINE_RUN, "baseline:random", studio.instances)
    return studio
