"""Trajectory Replay: a run's episode step by step, optionally beside another run or an expert.

The URL keeps the whole view (``?run=R&idx=3&trial=0&step=2&cmp=run:R2&step2=1&q=text``; an
expert's workbench session is ``cmp=human:SESSION_ID``), so a reload or a shared link shows the
same steps.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st
from sqlalchemy import select

from crm_core.agents.run_store import list_runs, load_episodes
from crm_core.policy import Page
from crm_core.store import AppUser
from crm_core.studio.explorer import id_titles
from crm_core.studio.query_tables import name_text
from crm_core.studio.replay import (
    Step,
    Trajectory,
    align_steps,
    default_run,
    episode_trajectory,
    failed_instances,
    first_failed_step,
    run_episode_keys,
    same_action,
    search_steps,
    step_prompt,
    trajectory_ids,
    workbench_trajectory,
)
from crm_core.studio.workbench import WorkbenchSession, session_steps, submitted_sessions
from page_gate import page_app_store, page_org_engine, require_page
from result_view import show_changes, show_observation, show_state

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


def names_in(*trajectories: Trajectory | None) -> dict[str, str]:
    """Record names of the ids the trajectories show (none when the org cannot be read)."""
    ids = set().union(*(trajectory_ids(t) for t in trajectories if t is not None))
    if not ids:
        return {}
    try:
        with page_org_engine().connect() as conn:
            return id_titles(conn, ids)
    except Exception:  # the org is optional here: ids stay bare
        return {}


def select_step(key: str, param: str, number: int) -> None:
    st.session_state[key] = number
    params[param] = str(number)


# per side key: step number -> the aligned step number on the other side (filled when comparing)
PARTNER: dict[str, dict[int, int]] = {}


def remember_step(key: str, param: str) -> None:
    params[param] = str(st.session_state[key])
    other = {"a": "b", "b": "a"}[key.split("-")[1]]
    partner = PARTNER.get(key, {}).get(st.session_state[key])
    if partner is not None and st.session_state.get("replay_follow", True):
        other_key = next((k for k in PARTNER if k.split("-")[1] == other), None)
        if other_key is not None:
            st.session_state[other_key] = partner
            params["step2" if other == "b" else "step"] = str(partner)


def render_step(trajectory: Trajectory, step: Step, side: str, names: dict[str, str]) -> None:
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
    show_observation(step.observation, f"obs-{side}-{step.number}", names)
    if step.changes:
        st.markdown("**Changes this step made**")
        show_changes(step.changes, names, f"changes-{side}-{step.number}")


def render_state(trajectory: Trajectory, side: str, names: dict[str, str]) -> None:
    """A workflow episode's final changes beside the expected ones, and what differs."""
    exact = "exact" if trajectory.reward == 1.0 else "not exact"
    st.markdown(f"**State match:** {exact} · F1 {trajectory.state_f1 or 0:.3f}")
    show_state(
        trajectory.changes or [],
        trajectory.expected_changes,
        names,
        f"state-{side}",
        trajectory.missing,
        trajectory.unexpected,
    )


def render_trajectory(trajectory: Trajectory, side: str, param: str, search: str, names: dict[str, str]) -> None:
    """Header, jump button, step list and the selected step of one trajectory."""
    reward = "—" if trajectory.reward is None else f"{trajectory.reward:.3f}"
    st.subheader(trajectory.label)
    st.markdown(
        f"**Reward {reward}** · end reason **{trajectory.end_reason}** · {trajectory.turns} turns  \n"
        f"Answer `{name_text(trajectory.answer, names)}` · correct `{name_text(trajectory.gold, names)}`"
    )
    if trajectory.error:
        st.error(trajectory.error)
    if trajectory.changes is not None:
        render_state(trajectory, side, names)
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
            f"{'✗' if by_number[n].failed else '·'} {n}. {name_text(by_number[n].summary, names)}"
            + ("  🔎" if n in matches else "")
        ),
        on_change=remember_step,
        args=(key, param),
    )
    params[param] = str(st.session_state[key])
    st.divider()
    render_step(trajectory, by_number[st.session_state[key]], side, names)


def render_alignment(a: Trajectory, b: Trajectory) -> None:
    """The two trajectories' steps paired (equal actions on one row); choosing a step follows on the other side."""
    pairs = align_steps(a, b)
    PARTNER[f"replay-a-{a.label}"] = {x.number: y.number for x, y in pairs if x and y}
    PARTNER[f"replay-b-{b.label}"] = {y.number: x.number for x, y in pairs if x and y}
    rows = [
        {
            a.label: f"{x.number} · {x.summary}" if x else "—",
            "": "=" if x and y and same_action(x, y) else "",
            b.label: f"{y.number} · {y.summary}" if y else "—",
        }
        for x, y in pairs
    ]
    with st.expander(f"Aligned steps ({len(pairs)} rows)", expanded=True):
        st.table(pd.DataFrame(rows, columns=[a.label, "", b.label]))
        st.toggle("Selecting a step selects its aligned step on the other side", value=True, key="replay_follow")


st.title("Trajectory Replay")
runs = list_runs(sessions)
runs = [r for r in runs if r.completed]
if not runs:
    st.info("No runs yet. Run an agent with `python -m crm_core run -f act -m oracle`.")
    st.stop()

run_ids = [r.run.run_id for r in runs]
labels = {r.run.run_id: f"{r.run.model} · {r.run.framework} ({r.run.run_id})" for r in runs}
requested_run = params.get("run")
if requested_run not in run_ids:
    requested_run = default_run(runs)
c1, c2, c3, c4 = st.columns([3, 3, 1, 2], vertical_alignment="bottom")
run_id = c1.selectbox(
    "Run",
    run_ids,
    index=run_ids.index(requested_run) if requested_run in run_ids else 0,
    format_func=labels.__getitem__,
    key="replay_run",
)
params["run"] = run_id
keys = run_episode_keys(sessions, run_id)
rewards_of: dict[int, list[float]] = {}
for k in keys:
    rewards_of.setdefault(k.instance_idx, []).append(k.reward or 0.0)


def instance_label(i: int) -> str:
    rewards = rewards_of.get(i, [])
    if len(rewards) == 1:
        return f"#{i} · {task_of[i]} · reward {rewards[0]:.2f}"
    return f"#{i} · {task_of[i]} · {sum(r >= 1.0 - 1e-9 for r in rewards)} of {len(rewards)} trials succeeded"


task_of = {k.instance_idx: k.task for k in keys}
failed_only = c4.toggle("Failed instances only", value=params.get("failed") == "1", key="replay_failed")
if failed_only:
    params["failed"] = "1"
else:
    params.pop("failed", None)
indexes = sorted(failed_instances(keys) if failed_only else task_of)
if not indexes:
    st.info(f"Every instance of run {run_id} succeeded: no failed instance to show.")
    st.stop()
requested_idx = int_param("idx")
idx = c2.selectbox(
    "Instance",
    indexes,
    index=indexes.index(requested_idx) if requested_idx in indexes else 0,
    format_func=instance_label,
    key=f"replay_idx-{run_id}-{failed_only}",
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

names = names_in(main, second)
if second is None:
    render_trajectory(main, "a", "step", search, names)
else:
    render_alignment(main, second)
    left, right = st.columns(2, border=True)
    with left:
        render_trajectory(main, "a", "step", search, names)
    with right:
        render_trajectory(second, "b", "step2", search, names)
