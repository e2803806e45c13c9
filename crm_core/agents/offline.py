"""Offline models shipped with the project, as LangChain chat models.

- ``oracle``: follows the benchmark's oracle steps (:func:`crm_core.tasks.solve`) in the
  framework's own format (``<execute>`` tags for act/react, tool calls for fc/fc_flex), then
  responds with the oracle's answer. It solves through the same tools as any agent; on a
  workflow instance it solves in a scratch sandbox first, then replays its writes in the episode's.
- ``baseline:majority`` / ``baseline:random``: respond at once with the task's floor answer.
- ``replay:RUN_ID``: re-plays the assistant messages recorded for the same instance and trial.

Each is made per episode (it answers from the episode's instance) and counts no tokens.
"""

from __future__ import annotations

import asyncio
import json
from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from sqlalchemy.orm import Session, sessionmaker

from crm_core.agents.environment import instance_today
from crm_core.agents.frameworks import RAW_QUERY_TOOLS, RESPOND_TOOL, changes_the_org
from crm_core.agents.models import EpisodeContext, ModelSource
from crm_core.agents.records import FrameworkName
from crm_core.agents.run_store import load_episodes, load_run
from crm_core.agents.transcript import to_ai_message
from crm_core.errors import UserFacingError
from crm_core.tasks.baselines import answer_pools, majority_baseline, random_baseline
from crm_core.tasks.oracle import solve
from crm_core.tools import ToolContext
from crm_core.tools.general import OBSERVATION_PREFIX
from crm_core.tools.records import WRITE_TOOLS

if TYPE_CHECKING:
    from crm_core.agents.environment import OrgEnvironment
    from crm_core.tasks.records import TaskInstance


class ScriptedChatModel(BaseChatModel):
    """A chat model whose reply is computed from the conversation so far (no network)."""

    framework: FrameworkName

    @property
    def _llm_type(self) -> str:
        return "crm-offline"

    @abstractmethod
    def reply(self, turn: int, messages: Sequence[BaseMessage]) -> AIMessage:
        """The assistant message of turn `turn` (1-based)."""

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:  # type: ignore[override]
        """Tools are known from the framework; binding changes nothing."""
        return self

    def _result(self, messages: list[BaseMessage]) -> ChatResult:
        turn = 1 + sum(1 for m in messages if isinstance(m, AIMessage))
        return ChatResult(generations=[ChatGeneration(message=self.reply(turn, messages))])

    def prepare_reply(self) -> None:
        """Work before a reply (sync calls); nothing by default."""
        return None

    async def aprepare_reply(self) -> None:
        """Work before a reply (async calls); nothing by default."""
        return None

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.prepare_reply()
        return self._result(messages)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        await self.aprepare_reply()
        return self._result(messages)

    # --- the framework's own action formats -----------------------------------------------------

    def respond(self, answer: str | None, turn: int, thought: str = "I have the answer.") -> AIMessage:
        """A final answer in the framework's format (None is answered as "None")."""
        text = "None" if answer is None else answer
        if self.framework in {"fc", "fc_flex"}:
            return _tool_call_message(RESPOND_TOOL, {"content": text}, turn)
        prefix = f"<thought> {thought} </thought>\n" if self.framework == "react" else ""
        return AIMessage(content=f"{prefix}<respond>{text}</respond>")

    def execute(self, query: str, thought: str = "I query the org.") -> AIMessage:
        """A raw query action of act/react."""
        prefix = f"<thought> {thought} </thought>\n" if self.framework == "react" else ""
        return AIMessage(content=f"{prefix}<execute>{query}</execute>")


def _tool_call_message(name: str, arguments: dict[str, Any], turn: int) -> AIMessage:
    call_id = f"call_{turn}"
    raw = [{"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}]
    return AIMessage(
        content="",
        tool_calls=[{"id": call_id, "name": name, "args": arguments, "type": "tool_call"}],
        additional_kwargs={"tool_calls": raw},
    )


class ReplayChatModel(ScriptedChatModel):
    """Re-plays recorded assistant messages in order; past the end it is an error."""

    recorded: list[AIMessage]
    source_run: str

    def reply(self, turn: int, messages: Sequence[BaseMessage]) -> AIMessage:
        if turn > len(self.recorded):
            raise RuntimeError(f"run {self.source_run!r} recorded only {len(self.recorded)} assistant turns")
        return self.recorded[turn - 1]


class ReplaySource(ModelSource):
    """``replay:RUN_ID``: the assistant messages of another run, episode by episode."""

    def __init__(self, run_id: str, store: sessionmaker[Session]) -> None:

        self.spec = f"replay:{run_id}"
        self.run_id = run_id
        self.store = store
        if load_run(store, run_id) is None:
            raise UserFacingError(f"replay: no run {run_id!r} in the app store (see `runs list`)")

    def chat_model(self, episode: EpisodeContext) -> BaseChatModel:

        episodes = load_episodes(self.store, self.run_id, instance_idx=episode.instance.idx)
        recorded = [e for e in episodes if e.trial == episode.trial]
        if not recorded:
            raise RuntimeError(
                f"run {self.run_id!r} has no episode for instance {episode.instance.idx} trial {episode.trial}"
            )
        if recorded[0].framework != episode.framework.name:
            raise RuntimeError(
                f"run {self.run_id!r} used framework {recorded[0].framework!r}, not {episode.framework.name!r}"
            )
        messages = [to_ai_message(m) for m in recorded[0].messages if m.role == "assistant"]
        return ReplayChatModel(framework=episode.framework.name, recorded=messages, source_run=self.run_id)


class OracleChatModel(ScriptedChatModel):
    """Emits the oracle's tool steps one per turn, checks each observation, then responds.

    An observation that differs from the one the oracle saw means the harness ran the step
    differently; the oracle then answers with a note saying so, which scores 0. The trace is
    given (`steps`, `answer`) or computed on the first call by `solver`, in a worker thread when
    called asynchronously, so that concurrent oracle episodes do not wait for each other.
    """

    steps: list[Any] | None = None
    answer: str | None = None
    solver: Callable[[], tuple[list[Any], str | None]] | None = None

    def prepare_reply(self) -> None:
        if self.steps is None:
            if self.solver is None:
                raise RuntimeError("the oracle model has neither steps nor a solver")
            self.steps, self.answer = self.solver()

    async def aprepare_reply(self) -> None:
        if self.steps is None:
            await asyncio.to_thread(self.prepare_reply)

    def reply(self, turn: int, messages: Sequence[BaseMessage]) -> AIMessage:
        self.prepare_reply()
        steps = self.steps or []
        done = turn - 1
        if done:
            expected = steps[done - 1].observation
            seen = _observation_after_last_reply(messages)
            if seen != expected:
                return self.respond(
                    f"oracle mismatch at step {done}: expected {expected[:80]!r}, got {seen[:80]!r}", turn
                )
        if done < len(steps):
            step = steps[done]
            if self.framework in {"fc", "fc_flex"}:
                return _tool_call_message(step.tool, step.arguments, turn)
            if step.tool in WRITE_TOOLS:
                return self.execute(f"{step.tool} {json.dumps(step.arguments)}", thought=f"Step {turn}: {step.tool}.")
            return self.execute(step.arguments["query"], thought=f"Step {turn}: run {step.tool}.")
        return self.respond(self.answer, turn)


def _observation_after_last_reply(messages: Sequence[BaseMessage]) -> str:
    last = max(i for i, m in enumerate(messages) if isinstance(m, AIMessage))
    text = str(messages[last + 1].content) if last + 1 < len(messages) else ""
    return text.removeprefix(OBSERVATION_PREFIX)


class OracleSource(ModelSource):
    """``oracle``: the benchmark's oracle trace, in the episode's framework."""

    spec = "oracle"

    def chat_model(self, episode: EpisodeContext) -> BaseChatModel:
        framework = episode.framework
        writes = changes_the_org(episode.instance)
        if framework.native_tools:
            usable = set(framework.tool_names) - {RESPOND_TOOL}
        else:
            usable = set(RAW_QUERY_TOOLS) | (set(WRITE_TOOLS) if writes else set())

        def solver() -> tuple[list[Any], str | None]:

            today = instance_today(episode.instance.params)
            raw = not framework.native_tools
            if writes:  # solve in a scratch sandbox: the episode's own sandbox sees the same writes replayed
                with episode.env.new_sandbox() as scratch, scratch.lock:
                    trace = solve(episode.instance, ToolContext(scratch.conn, today, scratch), raw_queries=raw)
            else:
                with episode.env.engine.connect() as conn:
                    trace = solve(episode.instance, ToolContext(conn=conn, today=today), raw_queries=raw)
            return [step for step in trace.steps if step.tool in usable], trace.answer

        return OracleChatModel(framework=framework.name, solver=solver)


class BaselineSource(ModelSource):
    """``baseline:majority`` / ``baseline:random``: respond at once with the task's floor answer."""

    def __init__(self, kind: str) -> None:
        if kind not in {"majority", "random"}:
            raise UserFacingError(f"unknown baseline {kind!r}: use baseline:majority or baseline:random")
        self.kind = kind
        self.spec = f"baseline:{kind}"
        self._majority: Callable[[TaskInstance], str] | None = None
        self._pools: dict[str, list[str]] | None = None

    def prepare(self, instances: Sequence[TaskInstance], env: OrgEnvironment) -> None:

        if self.kind == "majority":
            self._majority = majority_baseline(instances)
        else:
            with env.engine.connect() as conn:
                self._pools = answer_pools(conn)

    def chat_model(self, episode: EpisodeContext) -> BaseChatModel:

        if self.kind == "majority":
            if self._majority is None:
                raise RuntimeError("baseline:majority was not prepared with the run's instances")
            answer = self._majority(episode.instance)
        else:
            if self._pools is None:
                raise RuntimeError("baseline:random was not prepared with the org")
            answer = random_baseline(self._pools, seed=episode.trial)(episode.instance)
        return FixedAnswerChatModel(framework=episode.framework.name, answer=answer)


class FixedAnswerChatModel(ScriptedChatModel):
    """Responds with one fixed answer on the first turn."""

    answer: str

    def reply(self, turn: int, messages: Sequence[BaseMessage]) -> AIMessage:
        return self.respond(self.answer, turn, thought="I answer without looking.")
