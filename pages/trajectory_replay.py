"""Trajectory Replay: a run's episode step by step, optionally beside another run or an expert.

The URL keeps the whole view (``?run=R&idx=3&trial=0&step=2&cmp=run:R2&step2=1&q=text``; an
expert's workbench session is ``cmp=human:SESSION_ID``), so a reload or a shared link shows the
same steps.
"""

from __future__ import annotations

import json

import streamlit as st
from sqlalchemy import select

from crm_core.policy import Page
from crm_core.store import AppUser
from crm_core.store.runs import list_runs, load_episodes
from crm_core.studio.replay import (
    Step,
    Trajectory,
    episode_trajectory,
    first_failed_step,
    run_episode_keys,
    search_steps,
    step_prompt,
    workbench_trajectory,
)
from crm_core.studio.workbench import WorkbenchSession, session_steps, submitted_sessions
from page_gate import page_app_store, require_page

require_page(Page.TRAJECTORY_REPLAY)

sessions = page_app_store()
params = st.query_params


def int_param(name: str, default: int | None = None) -> int | None:
    value = params.get(name)
    return int(value) if value is not None and value.lstrip("-").isdigit() else default


def run_trajectory(run_id: str, idx: int, trial: int) -> Trajectory | None:
    episodes = [e for e in load_episodes(sessions, run_id, instance_idx=idx) if e.trial == trial]
    if not episodes:
        episodes = load_episodes(sessions, run_id, instance_idx=idx)[:1]
    return (
        episode_trajectory(episodes[0], f"{episodes[0].model} · {episodes[0].framework} ({run_id})")
        if episodes
        else None
    )


def human_trajectory(session_id: int, gold: str | None) -> Trajectory | None:
    with sessions() as session:
        row = session.get(WorkbenchSession, session_id)
        if row is None or not row.submitted:
            return None
        user = session.get(AppUser, row.user_id)
        name = user.username if user else "expert"
        return workbench_trajectory(
            session_steps(row), row.answer, row.reward, gold, label=f"expert {name} ({row.seconds or 0:.0f} s)"
        )


def select_step(key: str, param: str, number: int) -> None:
    st.session_state[key] = number
    params[param] = str(number)


def remember_step(key: str, param: str) -> None:
    params[param] = str(st.session_state[key])


def render_step(trajectory: Trajectory, step: Step) -> None:
    state = "failed" if step.failed else "ok"
    st.markdown(f"**Step {step.number} of {len(trajectory.steps)}** · `{step.kind}` · {state}")
    prompt = step_prompt(trajectory, step)
    if prompt:
        with st.expander(f"Prompt: {len(prompt)} messages sent for this step"):
            for message in prompt:
                st.caption(f"{message.role}{f' · {message.name}' if message.name else ''}")
                st.code(message.content, language=None, wrap_lines=True)
    if step.thought:
        st.markdown(f"**Thought:** {step.thought}")
    if step.reply:
        st.markdown("**Reply**")
        st.code(step.reply, language=None, wrap_lines=True)
    st.markdown(f"**Action:** `{step.kind}`" + (f" · tool `{step.name}`" if step.name else ""))
    st.markdown("**Arguments (JSON)**")
    st.code(json.dumps(step.arguments or {}, indent=2, ensure_ascii=False), language="json", wrap_lines=True)
    if step.error:
        st.error(step.error)
    if step.observation is not None:
        st.markdown("**Observation**")
        st.code(step.observation[:20_000], language=None, wrap_lines=True)


def render_trajectory(trajectory: Trajectory, side: str, param: str, search: str) -> None:
    """Header, jump button, step list and the selected step of one trajectory."""
    reward = "—" if trajectory.reward is None else f"{trajectory.reward:.3f}"
    st.subheader(trajectory.label)
    st.markdown(
        f"**Reward {reward}** · end reason **{trajectory.end_reason}** · {trajectory.turns} turns  \n"
        f"Answer `{trajectory.answer}` · correct `{trajectory.gold}`"
    )
    if trajectory.error:
        st.error(trajectory.error)
    if not trajectory.steps:
        st.caption("No steps.")
        return
    numbers = [s.number for s in trajectory.steps]
    key = f"replay-{side}-{trajectory.label}"
    wanted = int_param(param, numbers[0])
    if st.session_state.get(key) not in numbers:
        st.session_state[key] = wanted if wanted in numbers else numbers[0]
    failed = first_failed_step(trajectory)
    st.button(
        "Jump to first failed step" if failed else "No failed step",
        key=f"{key}-jump",
        disabled=failed is None,
        on_click=select_step,
        args=(key, param, failed),
    )
    matches = set(search_steps(trajectory, search)) if search else set()
    if search:
        st.caption(f"{len(matches)} steps match “{search}”: {', '.join(map(str, sorted(matches))) or 'none'}")
    by_number = {s.number: s for s in trajectory.steps}
    st.radio(
        "Steps",
        numbers,
        key=key,
        format_func=lambda n: (
            f"{'✗' if by_number[n].failed else '·'} {n}. {by_number[n].summary}" + ("  🔎" if n in matches else "")
        ),
        on_change=remember_step,
        args=(key, param),
    )
    params[param] = str(st.session_state[key])
    st.divider()
    render_step(trajectory, by_number[st.session_state[key]])


st.title("Trajectory Replay")
runs = list_runs(sessions)
runs = [r for r in runs if r.completed]
if not runs:
    st.info("No runs yet. Run an agent with `python -m crm_core run -f act -m oracle`.")
    st.stop()

run_ids = [r.run.run_id for r in runs]
labels = {r.run.run_id: f"{r.run.run_id} · {r.run.model} · {r.run.framework}" for r in runs}
requested_run = params.get("run")
c1, c2, c3 = st.columns([3, 3, 1])
run_id = c1.selectbox(
    "Run",
    run_ids,
    index=run_ids.index(requested_run) if requested_run in run_ids else 0,
    format_func=labels.__getitem__,
    key="replay_run",
)
params["run"] = run_id
keys = run_episode_keys(sessions, run_id)
reward_of = {k.instance_idx: k.reward for k in keys if k.trial == 0}
task_of = {k.instance_idx: k.task for k in keys}
indexes = sorted(task_of)
requested_idx = int_param("idx")
idx = c2.selectbox(
    "Instance",
    indexes,
    index=indexes.index(requested_idx) if requested_idx in indexes else 0,
    format_func=lambda i: f"#{i} · {task_of[i]} · reward {reward_of.get(i) or 0:.2f}",
    key=f"replay_idx-{run_id}",
)
params["idx"] = str(idx)
trials = sorted({k.trial for k in keys if k.instance_idx == idx})
trial = c3.selectbox(
    "Trial", trials, index=trials.index(int_param("trial", 0)) if int_param("trial", 0) in trials else 0
)
params["trial"] = str(trial)

others = {f"run:{r}": f"run {labels[r]}" for r in run_ids if r != run_id}
with sessions() as session:
    humans = submitted_sessions(session, idx)
    names = dict(
        session.execute(select(AppUser.id, AppUser.username).where(AppUser.id.in_([h.user_id for h in humans]))).all()
    )
others |= {f"human:{h.id}": f"expert {names.get(h.user_id, '?')} (workbench)" for h in humans}
compare_options = ["", *others]
requested_cmp = params.get("cmp", "")
s1, s2 = st.columns([3, 4])
compare = s1.selectbox(
    "Compare with",
    compare_options,
    index=compare_options.index(requested_cmp) if requested_cmp in compare_options else 0,
    format_func=lambda v: others.get(v, "nothing (one trajectory)"),
    key=f"replay_cmp-{run_id}-{idx}",
)
search = s2.text_input("Search in the trajectory", value=params.get("q", ""), key="replay_search")
if search:
    params["q"] = search
else:
    params.pop("q", None)

main = run_trajectory(run_id, idx, trial)
if main is None:
    st.warning(f"Run {run_id} has no episode on instance {idx}.")
    st.stop()
second: Trajectory | None = None
if compare:
    params["cmp"] = compare
    kind, _, ref = compare.partition(":")
    second = run_trajectory(ref, idx, trial) if kind == "run" else human_trajectory(int(ref), main.gold)
    if second is None:
        st.warning(f"{others.get(compare, compare)} has no trajectory on instance {idx}.")
else:
    params.pop("cmp", None)
    params.pop("step2", None)

if second is None:
    render_trajectory(main, "a", "step", search)
else:
    left, right = st.columns(2, border=True)
    with left:
        render_trajectory(main, "a", "step", search)
    with right:
        render_trajectory(second, "b", "step2", search)
