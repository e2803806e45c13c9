"""The run service: one RunConfig is prepared (checked, stored) then executed, resumed or refused,
whoever starts it (the CLI, the studio, sweeps)."""

from __future__ import annotations

import pytest
from openai_server import openai_server
from scripted_policies import contact_policy

from crm_core.agents.progress import RunProgress
from crm_core.agents.run_store import list_runs, load_episodes
from crm_core.agents.service import RunConfig, prepare, run
from crm_core.errors import UserFacingError


class Recorder(RunProgress):
    def __init__(self) -> None:
        self.plans: list[tuple[str, int, int]] = []
        self.actions: list[str] = []
        self.episodes: list[tuple[int, int, bool]] = []

    def started(self, run, planned, pending):
        self.plans.append((run.run_id, planned, pending))

    def action(self, action):
        self.actions.append(action.kind)

    def episode(self, episode, saved):
        self.episodes.append((episode.instance_idx, episode.trial, saved))


def test_a_run_reports_its_plan_actions_and_episodes_and_stores_them(app_store, contact_org, task_file):
    progress = Recorder()
    with openai_server(contact_policy) as server:
        config = RunConfig(
            framework="fc",
            model="openai:scripted",
            base_url=server.base_url,
            tasks="handle_time",
            limit=2,
            trials=2,
            run_id="svc",
            org_db=contact_org[0],
            task_file=task_file,
        )
        outcome = run(config, store=app_store, progress=progress)
    # handle_time is every even idx of the contact org: the two lowest are 0 and 2
    assert progress.plans == [("svc", 4, 4)]
    assert sorted(progress.episodes) == [(0, 0, True), (0, 1, True), (2, 0, True), (2, 1, True)]
    assert progress.actions and set(progress.actions) == {"tool"}
    assert (outcome.planned, len(outcome.episodes)) == (4, 4)
    assert all(e.reward == 1.0 for e in load_episodes(app_store, "svc"))
    assert [(s.run.tasks, s.planned, s.completed) for s in list_runs(app_store)] == [(["handle_time"], 4, 4)]


def test_a_stored_run_id_resumes_with_nothing_left_and_refuses_other_values(app_store, contact_org, task_file):
    where = {"org_db": contact_org[0], "task_file": task_file}
    run(RunConfig(framework="act", model="baseline:majority", limit=1, run_id="r", **where), store=app_store)

    progress = Recorder()
    prepared = prepare(RunConfig(run_id="r", **where), store=app_store)
    assert prepared.resumed and prepared.run.model == "baseline:majority"
    assert prepared.execute(progress).episodes == []
    assert progress.plans == [("r", 2, 0)] and progress.episodes == []

    with pytest.raises(UserFacingError, match="run 'r' exists with trials 1, not 3"):
        prepare(RunConfig(run_id="r", trials=3, **where), store=app_store)
    refused = "run 'r' exists with tasks 'case_routing,handle_time,.*', not 'handle_time'"
    with pytest.raises(UserFacingError, match=refused):
        prepare(RunConfig(run_id="r", tasks="handle_time", **where), store=app_store)


def test_instance_ids_narrow_a_run_and_its_resume_keeps_them(app_store, contact_org, task_file):
    where = {"org_db": contact_org[0], "task_file": task_file}
    config = RunConfig(framework="act", model="baseline:majority", instance_ids=[3, 4], run_id="two", **where)
    outcome = run(config, store=app_store)
    assert sorted(e.instance_idx for e in outcome.episodes) == [3, 4]
    resumed = prepare(RunConfig(run_id="two", **where), store=app_store)
    assert [i.idx for i in resumed.instances] == [3, 4]
    resumed.close()
    with pytest.raises(UserFacingError, match="exists with instance_ids \\[3, 4\\], not \\[5\\]"):
        prepare(RunConfig(run_id="two", instance_ids=[5], **where), store=app_store)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"model": "oracle"}, "a new run needs --framework and --model"),
        ({"framework": "act", "model": "oracle", "tasks": "triage"}, "unknown task 'triage'"),
        ({"framework": "act", "model": "oracle", "instance_ids": [999]}, "no instances of"),
    ],
)
def test_bad_configs_are_refused_before_anything_is_stored(app_store, contact_org, task_file, config, message):
    with pytest.raises(UserFacingError, match=message):
        prepare(RunConfig(org_db=contact_org[0], task_file=task_file, **config), store=app_store)
    assert list_runs(app_store) == []


def test_an_unknown_framework_is_refused_by_the_config():
    with pytest.raises(UserFacingError, match="unknown framework 'plan': choose one of act, react, fc, fc_flex"):
        RunConfig(framework="plan", model="oracle")
