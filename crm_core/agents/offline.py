"""Offline models shipped with the project, as LangChain chat models.

- ``oracle``: follows the benchmark's oracle steps (:func:`crm_core.tasks.solve`) in the
  framework's own format (``<execute>`` tags for act/react, tool calls for fc/fc_flex), then
  responds with the oracle's answer. It solves through the same tools as any agent.
- ``baseline:majority`` / ``baseline:random``: respond at once with the task's floor answer.
- ``replay:RUN_ID``: re-plays the assistant messages recorded for the same instance and trial.

Each is made per episode (it answers from the episode's instance) and counts no tokens.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from sqlalchemy.orm import Session, sessionmaker

from crm_core.agents.frameworks import RESPOND_TOOL
from crm_core.agents.models import EpisodeContext, ModelSource
from crm_core.agents.records import FrameworkName
from crm_core.agents.transcript import to_ai_message
from crm_core.errors import UserFacingError


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

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._result(messages)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
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
        from crm_core.store.runs import load_run

        self.spec = f"replay:{run_id}"
        self.run_id = run_id
        self.store = store
        if load_run(store, run_id) is None:
            raise UserFacingError(f"replay: no run {run_id!r} in the app store (see `runs list`)")

    def chat_model(self, episode: EpisodeContext) -> BaseChatModel:
        from crm_core.store.runs import load_episodes

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
