"""Workflow episodes: each plays in a sandbox of its own, is scored on the state it leaves, and
leaves the shared org as it was; the oracle reaches 100% in all four frameworks, the floor
baselines change nothing."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from sqlalchemy import create_engine

from crm_core.agents.models import EpisodeContext, ModelSource
from crm_core.agents.offline import ScriptedChatModel, _tool_call_message
from crm_core.agents.service import RunConfig, run
from crm_core.org.stats import org_stats
from crm_core.tasks.build import generate_tasks
from crm_core.tasks.records import TaskInstance
from crm_core.tasks.registry import task_names

WORKFLOW = list(task_names("workflow"))


@pytest.fixture(scope="module")
def instances(tiny_org_url: str) -> list[TaskInstance]:
    """Two instances of each workflow task of the tiny org."""
    return generate_tasks(tiny_org_url, per_task=2, suite="workflow")


def _play(store, org_url, instances, framework, model, run_id):
    config = RunConfig(framework=framework, model=model, tasks=WORKFLOW, org_db=org_url, run_id=run_id)
    return run(config, store=store, task_set=instances).episodes


def _digest(org_url: str) -> str:
    engine = create_engine(org_url)
    try:
        return org_stats(engine).digest
    finally:
        engine.dispose()


@pytest.mark.parametrize("framework", ["act", "react", "fc", "fc_flex"])
def test_the_oracle_makes_every_expected_change(framework, app_store, tiny_org_url, instances) -> None:
    before = _digest(tiny_org_url)
    episodes = _play(app_store, tiny_org_url, instances, framework, "oracle", f"oracle-{framework}")
    assert len(episodes) == len(instances)
    failures = [(e.task, e.state_score) for e in episodes if e.reward != 1.0]
    assert failures == []
    assert all(e.state_score.f1 == 1.0 and e.end_reason == "responded" for e in episodes)
    by_idx = {i.idx: i for i in instances}
    for episode in episodes:
        assert episode.state_diff == by_idx[episode.instance_idx].expected_diff
        writes = [a for a in episode.actions if a.state_diff is not None]
        assert writes, "every workflow task changes something"
        assert writes[-1].state_diff == episode.state_diff  # the last write's diff is the final one
    if framework in {"act", "react"}:  # writes ride in <execute>, as the prompt says
        assert any((a.content or "").startswith("update_record {") for e in episodes for a in e.actions)
    # every episode wrote in its own sandbox: the shared org is unchanged
    assert _digest(tiny_org_url) == before


@pytest.mark.parametrize("model", ["baseline:majority", "baseline:random"])
def test_floor_baselines_change_nothing_and_score_zero(model, app_store, tiny_org_url, instances) -> None:
    episodes = _play(app_store, tiny_org_url, instances, "fc", model, model.replace(":", "-"))
    assert sum(e.reward for e in episodes) / len(episodes) <= 0.10
    assert all(e.state_diff is not None and e.state_diff.is_empty() for e in episodes)


class _WrongPhone(ScriptedChatModel):
    """Finds the contact, writes a wrong phone number and an unasked-for last name, responds."""

    email: str

    def reply(self, turn: int, messages: Sequence[BaseMessage]) -> AIMessage:
        if turn == 1:
            return _tool_call_message("get_records", {"object": "Contact", "where": {"Email": self.email}}, turn)
        if turn == 2:
            contact = json.loads(str(messages[-1].content))[0]
            fields = {"Phone": "(000) 555-0000", "LastName": "Changed"}
            return _tool_call_message(
                "update_record", {"object": "Contact", "id": contact["Id"], "fields": fields}, turn
            )
        return self.respond("Done.", turn)


class _WrongPhoneSource(ModelSource):
    spec = "scripted:wrong-phone"

    def chat_model(self, episode: EpisodeContext) -> BaseChatModel:
        return _WrongPhone(framework=episode.framework.name, email=episode.instance.params["email"])


def test_a_wrong_change_scores_zero_and_shows_what_differs(app_store, tiny_org_url, instances) -> None:
    from crm_core.agents.service import prepare

    phone = [i for i in instances if i.task == "contact_phone_update"][:1]
    config = RunConfig(framework="fc", model="oracle", tasks=["contact_phone_update"], org_db=tiny_org_url)
    prepared = prepare(config, store=app_store, task_set=phone)
    prepared.source = _WrongPhoneSource()
    (episode,) = prepared.execute().episodes
    assert episode.reward == 0.0 and not episode.state_score.exact
    assert episode.state_score.f1 == 0.0  # neither written fact is the expected one
    assert episode.state_score.missing == [
        f"Contact {phone[0].expected_diff.updated[0].id}: Phone = {phone[0].params['phone'].casefold()!r}"
    ]
    assert len(episode.state_score.unexpected) == 2


@pytest.mark.postgres
@pytest.mark.parametrize("framework", ["act", "fc"])
def test_the_workflow_suite_on_postgresql_matches_sqlite_and_the_oracle_reaches_it(
    framework, app_store, tiny_org_url, tiny_org_pg_url, instances
) -> None:
    """The same org on PostgreSQL: the same instances and expected diffs, solved in PostgreSQL sandboxes."""
    on_pg = generate_tasks(tiny_org_pg_url, per_task=2, suite="workflow")
    assert [i.model_dump() for i in on_pg] == [i.model_dump() for i in instances]
    before = _digest(tiny_org_pg_url)
    episodes = _play(app_store, tiny_org_pg_url, on_pg, framework, "oracle", f"oracle-pg-{framework}")
    assert [(e.task, e.reward) for e in episodes if e.reward != 1.0] == []
    by_idx = {i.idx: i for i in on_pg}
    assert all(e.state_diff == by_idx[e.instance_idx].expected_diff for e in episodes)
    assert _digest(tiny_org_pg_url) == before
