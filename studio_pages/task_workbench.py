"""Task Workbench: solve a task instance with the console and tool forms, submit, then compare.

The URL keeps the instance (``?idx=12``). The session (clock, queries, tool calls, answer) is
stored in the app database from the first view, so a reload or another browser resumes it. The
agent's run, the ground truth and the scores appear only after the answer is submitted.
"""

from __future__ import annotations

import json
import uuid

import pandas as pd
import streamlit as st

from crm_core.agents.environment import OrgEnvironment, instance_today
from crm_core.agents.run_store import load_episodes
from crm_core.db import org_db_url
from crm_core.errors import UserFacingError
from crm_core.policy import Page, require
from crm_core.sandbox import Sandbox
from crm_core.store import Study, StudyItem, utc_now
from crm_core.studies import StudyDefinition, claim_next_item, definition_of, rater_progress
from crm_core.studies.rated_runs import agent_options, item_instance, study_agent, study_runs
from crm_core.studio.console import console_summary, query_tool
from crm_core.studio.explorer import id_titles, name_ids_in_text, org_connection
from crm_core.studio.query_tables import name_text
from crm_core.studio.replay import (
    ChangeRow,
    Trajectory,
    change_ids,
    change_rows,
    episode_trajectory,
    trajectory_ids,
    workbench_trajectory,
)
from crm_core.studio.workbench import (
    LiveRun,
    ToolInfo,
    WorkbenchError,
    WorkbenchSession,
    WorkbenchStep,
    agent_label,
    find_session,
    form_fields,
    model_base_url,
    open_session,
    parse_form,
    record_step,
    reset_sandbox,
    run_action,
    sandbox_state,
    session_state,
    session_steps,
    start_agent_run,
    submit_answer,
    task_tools,
    workbench_models,
    workbench_run_id,
    workbench_sandboxes,
    workbench_studies,
)
from crm_core.tasks.records import TaskInstance, load_tasks
from crm_core.tasks.registry import task_names
from crm_core.tools import TOOLS
from page_gate import page_app_store, page_org_engine, require_page
from result_view import show_changes, show_observation, show_state
from study_form import pick_study, rating_form

role = require_page(Page.TASK_WORKBENCH)

FRAMEWORKS = ["act", "react", "fc", "fc_flex"]
LIVE_RUN = "wb_live_run"
POLL_SECONDS = 1.0
username: str = st.session_state["username"]
sessions = page_app_store()
org_url = org_db_url()
org = page_org_engine()
env = OrgEnvironment(org)
# One sandbox per workbench session on workflow tasks, kept by this process across reruns.
# (A comment, not a string: Streamlit's magic would draw a bare string on the page.)
expert_sandboxes = st.cache_resource(workbench_sandboxes)(org_url)


@st.cache_data(ttl=600, show_spinner="Loading the task set ...")
def task_set(url: str) -> dict[int, TaskInstance]:
    return {instance.idx: instance for instance in load_tasks(url)}


def readable(answer: str | None) -> str:
    """An answer as a person reads it: each record id as "Name (id)"."""
    with org_connection(org) as conn:
        return name_ids_in_text(conn, str(answer))


def add_step(row: WorkbenchSession, step: WorkbenchStep) -> None:
    try:
        with sessions() as session:
            record_step(session, row.id, step)
    except UserFacingError as exc:
        st.error(str(exc))


def console(row: WorkbenchSession, instance: TaskInstance, box: Sandbox | None) -> None:
    """Queries go through the agents' own query tools (in the expert's sandbox on a workflow task)."""
    with st.form("wb-console"):
        text = st.text_area("SOQL or SOSL", key="wb_query", height=110)
        submitted = st.form_submit_button("Run query", type="primary")
    if submitted and text.strip():
        name = query_tool(text)
        acting = env.in_sandbox(box) if box is not None else env
        observed = acting.call(name, {"query": text}, today=instance_today(instance.params))
        add_step(
            row, WorkbenchStep(kind="execute", name=name, arguments={"query": text}, observation=observed, at=utc_now())
        )
        st.session_state["wb_console_outcome"] = (text, observed)
    outcome = st.session_state.get("wb_console_outcome")
    if outcome:
        ok, headline = console_summary(*outcome)
        if ok:
            st.success(headline)
            show_observation(outcome[1], "wb-console")
        else:
            st.error(headline)


@st.cache_data(ttl=600, show_spinner="Finding the tools this task needs ...")
def tools_for(url: str, idx: int) -> list[ToolInfo]:
    return task_tools(org, task_set(url)[idx])


def tool_form(row: WorkbenchSession, instance: TaskInstance, box: Sandbox | None) -> None:
    tools = {info.name: info for info in tools_for(org_url, instance.idx)}
    name = st.selectbox(
        "Tool (the ones this task needs first)",
        list(tools),
        format_func=lambda n: f"★ {n}" if tools[n].relevant else n,
        key="wb_tool",
    )
    tool = TOOLS[name]
    with st.expander("All tools and what they do"):
        st.dataframe(
            pd.DataFrame(
                [{"": "★" if t.relevant else "", "Tool": t.name, "What it does": t.description} for t in tools.values()]
            ),
            hide_index=True,
            width="stretch",
        )
    st.caption(tool.description)
    fields = form_fields(tool.parameters)
    with st.form(f"wb-tool-{name}"):
        raw = {}
        for field in fields:
            label = f"{field.name}{' *' if field.required else ''}"
            key = f"wb-arg-{name}-{field.name}"
            if field.kind == "choice":
                raw[field.name] = st.selectbox(label, ["", *field.options], help=field.help, key=key)
            elif field.kind in {"lines", "json"}:
                hint = "one per line" if field.kind == "lines" else "JSON"
                raw[field.name] = st.text_area(f"{label} ({hint})", help=field.help, key=key, height=80)
            else:
                raw[field.name] = st.text_input(label, help=field.help, key=key)
        submitted = st.form_submit_button("Call tool", type="primary")
    if submitted:
        try:
            arguments = parse_form(fields, raw)
        except WorkbenchError as exc:
            st.error(str(exc))
            return
        acting = env.in_sandbox(box) if box is not None else env
        observed = acting.call(name, arguments, today=instance_today(instance.params))
        add_step(row, WorkbenchStep(kind="tool", name=name, arguments=arguments, observation=observed, at=utc_now()))
        st.session_state["wb_tool_outcome"] = (name, observed)
    outcome = st.session_state.get("wb_tool_outcome")
    if outcome:
        st.caption(f"`{outcome[0]}` returned:")
        show_observation(outcome[1], "wb-tool")


def names_of(rows: list[ChangeRow]) -> dict[str, str]:
    with org_connection(org) as conn:
        return id_titles(conn, change_ids(rows))


def sandbox_panel(row: WorkbenchSession, box: Sandbox) -> None:
    """This task changes the org: the expert's changes so far (in their own sandbox) and a reset."""
    rows = change_rows(sandbox_state(box))
    st.markdown(f"**Your changes so far** ({len(rows)} changed fields, in a sandbox of your own that nobody else sees)")
    show_changes(rows, names_of(rows), "wb-changes")
    if st.button("Reset my sandbox", key="wb_reset", help="Undo every change you made on this task"):
        with sessions() as session:
            reset_sandbox(session, row, box)
        st.rerun()


def show_steps(row: WorkbenchSession) -> None:
    steps = session_steps(row)
    if not steps:
        st.caption("No queries or tool calls yet.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {"#": i + 1, "kind": s.kind, "call": s.name, "arguments": json.dumps(s.arguments)[:200]}
                for i, s in enumerate(steps)
            ]
        ),
        hide_index=True,
    )


def expert_column(row: WorkbenchSession, instance: TaskInstance) -> None:
    st.subheader("Your answer")
    st.markdown(f"**Answer:** `{readable(row.answer)}`")
    st.markdown(f"**Time:** {row.seconds or 0:.0f} s · **steps:** {len(row.steps)}")
    state = session_state(row)
    if state is not None:
        final, expected = change_rows(state), change_rows(instance.expected_diff)
        st.markdown(f"**State match:** F1 {row.reward_normalized or 0:.3f}")
        show_state(final, expected, names_of(final + expected), "wb-state")
    trajectory = workbench_trajectory(session_steps(row), row.answer, row.reward, instance.answer_text)
    show_trajectory_steps(trajectory, "wb-mine")


def agent_column(instance: TaskInstance, in_study: bool, blind: bool, runs: list[str]) -> float | None:
    st.subheader("The agent's run")
    options = [o for o in agent_options(sessions, instance.idx) if not runs or o.run_id in runs]
    if not options:
        st.info("No agent has run on this instance yet.")
        return None
    if in_study:  # the study decides which run an expert rates (recoverable from user and instance)
        option = study_agent(options, username, instance.idx)
        chosen = option.run_id
        labels = {chosen: agent_label(option, 1, blind=blind)}
        st.caption(labels[chosen])
    else:
        if "wb_new_run" in st.session_state:  # a run just started from this page
            st.session_state["wb_agent_run"] = st.session_state.pop("wb_new_run")
        labels = {o.run_id: agent_label(o, i + 1, blind=blind) for i, o in enumerate(options)}
        chosen = st.selectbox("Run", list(labels), format_func=labels.__getitem__, key="wb_agent_run")
        option = next(o for o in options if o.run_id == chosen)
    episode = next(e for e in load_episodes(sessions, chosen, instance_idx=instance.idx) if e.trial == option.trial)
    trajectory = episode_trajectory(episode, labels[chosen])
    st.markdown(f"**Answer:** `{readable(episode.answer)}` · end: {episode.end_reason} · turns: {episode.turns}")
    show_trajectory_steps(trajectory, "wb-agent")
    return episode.reward


def show_trajectory_steps(trajectory: Trajectory, key: str) -> None:
    """Each step folded: its thought, arguments and observation (a table for records, ids named)."""
    with org_connection(org) as conn:
        names = id_titles(conn, trajectory_ids(trajectory))
    for step in trajectory.steps:
        with st.expander(f"{step.number}. {name_text(step.summary, names)}", expanded=False):
            if step.thought:
                st.caption(step.thought)
            st.json(step.arguments or {})
            show_observation(step.observation, f"{key}-{step.number}", names, fold=False)


def launch_agent(instance: TaskInstance) -> None:
    with st.expander("Run an agent on this instance"):
        with st.form("wb-launch"):
            model = st.selectbox("Model", workbench_models(role), key="wb_model")
            framework = st.selectbox("Framework", FRAMEWORKS, key="wb_framework")
            go = st.form_submit_button("Start the run")
        if not go or model is None:
            return
        run_id = workbench_run_id(username, instance.idx)
        try:
            require(role, run_action(model))  # checked here too, not only by the offered list
            _thread, events = start_agent_run(
                sessions,
                org_url,
                instance,
                role=role,
                model=model,
                framework=framework,
                run_id=run_id,
                base_url=model_base_url(model),
            )
        except UserFacingError as exc:
            st.error(str(exc))
            return
        st.session_state[LIVE_RUN] = LiveRun(
            run_id=run_id, instance_idx=instance.idx, label=f"{model} ({framework})", events=events
        )


@st.fragment(run_every=POLL_SECONDS)
def follow_live_run(instance: TaskInstance) -> None:
    """The run started from this page: its actions so far, redrawn every second (never waits)."""
    live: LiveRun | None = st.session_state.get(LIVE_RUN)
    if live is None:
        return
    state = live.poll()
    labels = {
        "running": f"Running {live.label} ...",
        "done": f"Run {live.run_id} finished",
        "failed": f"The run failed: {live.failure}",
    }
    status = st.status(labels[state], state={"running": "running", "done": "complete", "failed": "error"}[state])
    for line in live.lines:
        status.write(line)
    if state == "running":
        return
    del st.session_state[LIVE_RUN]
    if state == "done" and live.instance_idx == instance.idx:
        st.session_state["wb_new_run"] = live.run_id  # the new run joins the agent's side
    if state == "done":
        st.rerun()  # the whole page, which stops polling


st.title("Task Workbench")
try:
    instances = task_set(org_url)
except UserFacingError as exc:
    st.info(f"{exc}.")
    st.stop()


def choose_instance() -> TaskInstance:
    """The instance picked by the expert (task, then instance); the URL keeps it."""
    by_task = {task: [i for i in instances.values() if i.task == task] for task in task_names(None)}
    requested = st.query_params.get("idx")
    current = instances.get(int(requested)) if requested and requested.isdigit() else None
    left, right = st.columns([2, 3])
    present = [t for t in task_names(None) if by_task[t]]
    task = left.selectbox("Task", present, index=present.index(current.task) if current else 0, key="wb_task")
    choices = [i.idx for i in by_task[task]]
    idx = right.selectbox(
        "Instance",
        choices,
        index=choices.index(current.idx) if current and current.idx in choices else 0,
        format_func=lambda i: f"#{i}: {instances[i].query[:90]}",
        key="wb_idx",
    )
    st.query_params["idx"] = str(idx)
    return instances[idx]


def rate_agent(study: Study, definition: StudyDefinition, item: StudyItem) -> None:
    """The study's rating of the agent's trajectory, after the expert's own answer (autosaved)."""
    st.subheader(f"Rate the agent's trajectory ({study.title})")
    if rating_form(sessions, username, study.id, definition, item, submit_label="Submit rating"):
        st.toast(f"Rated: {item.label}")
        st.query_params.pop("idx", None)
        st.rerun()


definition: StudyDefinition | None = None
assigned: StudyItem | None = None
with sessions() as session:
    studies = workbench_studies(session)
study = pick_study(studies, key="wb_study")
if study is not None:
    definition = definition_of(study)
    with sessions() as session:
        assigned = claim_next_item(session, study.id, username)
        mine = rater_progress(session, study.id, username)
    st.progress(
        mine.submitted / mine.total if mine.total else 1.0, text=f"{study.title}: {mine.submitted} of {mine.total} done"
    )
    if assigned is None:
        st.success("You have done every instance of the study assigned to you. Thank you! Practise freely below.")
    elif st.toggle("Practise on any instance (outside the study)", key="wb_practise"):
        assigned = None
in_study = study is not None and definition is not None and assigned is not None
if in_study:
    assert assigned is not None
    if item_instance(assigned) not in instances:
        st.error(f"{assigned.label} is not in the org's task set any more (was it rebuilt?). Ask an admin.")
        st.stop()
    instance = instances[item_instance(assigned)]
    st.caption(f"Study item: {assigned.label}")
else:
    instance = choose_instance()

with sessions() as session:
    row = open_session(session, username, instance, study_id=study.id if in_study and study else None)
blind = bool(in_study and definition and definition.blind)
runs_allowed = study_runs(definition) if in_study and definition else []

st.info(instance.query)
today = instance_today(instance.params)
persona_col, today_col, task_col = st.columns(3)
persona_col.metric("You are", instance.persona.replace("_", " ").title())
today_col.metric(
    "Today is",
    f"{today:%A %d %B %Y}" if today else "any day",
    help="Relative dates (last month, this quarter) count from this day."
    if today
    else "The question names its own dates: no day is fixed as today.",
)
task_col.metric("Task", instance.task.replace("_", " "))
st.markdown("**Policy and definitions** (what the agent is told)")
st.text(instance.metadata.required or "—")
with st.expander("Domain details (optional context the agent also gets)"):
    st.text(instance.metadata.optional or "—")

if not row.submitted:
    box = expert_sandboxes.get(row.id) if instance.expected_diff is not None else None
    clock = st.empty()
    query_tab, tools_tab, steps_tab = st.tabs(["SOQL / SOSL console", "Tools", "Your steps"])
    with query_tab:
        console(row, instance, box)
    with tools_tab:
        tool_form(row, instance, box)
    if box is not None:
        sandbox_panel(row, box)
    with sessions() as session:
        row = find_session(session, username, instance.idx) or row  # with the steps just made
    with steps_tab:
        show_steps(row)
    elapsed = (utc_now() - row.started_at).total_seconds()
    clock.caption(f"Started {row.started_at:%H:%M:%S} UTC · {elapsed / 60:.0f} min so far · {len(row.steps)} steps")
    with st.form("wb-answer"):
        answer = st.text_input(
            "Your answer", key="wb_answer", help="The id, month, state or text; None if nothing qualifies."
        )
        if st.form_submit_button("Submit answer", type="primary"):
            submission = st.session_state.setdefault(f"wb-submission-{row.id}", uuid.uuid4().hex)
            try:
                with sessions() as session:
                    state = sandbox_state(box) if box is not None else None
                    submit_answer(session, row.id, answer, instance, submission_id=submission, state=state)
                if box is not None:
                    expert_sandboxes.discard(row.id)
            except UserFacingError as exc:
                st.error(str(exc))
            else:
                st.rerun()
    st.stop()

st.success(f"Submitted {row.submitted_at:%Y-%m-%d %H:%M:%S} UTC. Here is how an agent went about it.")
columns = st.columns(2)
agent_at = 0 if row.agent_side == "left" else 1
with columns[1 - agent_at]:
    expert_column(row, instance)
with columns[agent_at]:
    agent_reward = agent_column(instance, in_study, blind, runs_allowed)
st.divider()
st.subheader("Ground truth")
st.markdown(f"**Correct answer:** `{readable(instance.answer_text)}` ({instance.reward_metric.replace('_', ' ')})")
score_left, score_right = st.columns(2)
score_left.metric("Your score", f"{row.reward:.3f}")
score_right.metric("Agent's score", "—" if agent_reward is None else f"{agent_reward:.3f}")
if in_study and study and definition and assigned:
    st.divider()
    if agent_reward is None:
        st.info("There is no agent run to rate on this instance yet; the researchers will add one.")
    else:
        rate_agent(study, definition, assigned)
if not blind:  # in a blind study, starting a run would reveal the model
    launch_agent(instance)
    if LIVE_RUN in st.session_state:  # poll only while a run goes on
        follow_live_run(instance)
