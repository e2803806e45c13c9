"""The optional text pass (``generate --text-model``) through the real langchain-openai client
against the local OpenAI-protocol server: facts kept or the template text used, the prompt cache,
resuming after an interruption."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select

from crm_core.errors import UserFacingError
from crm_core.llm import Price, PriceTable, RetryPolicy
from crm_core.org.check import check_org
from crm_core.org.generator import generate_org
from crm_core.org.schema import Case, EmailMessage, LatentCasePolicy, LiveChatTranscript, OrgInfo
from crm_core.org.text_pass import FIELDS, Piece, facts_in, frame, rejection, rewrite_org_text
from tests.agents.openai_server import Reply, openai_server

PRICES = PriceTable(prices={"openai:scripted": Price(input=2.0, output=10.0)})
FAST = RetryPolicy(attempts=2, initial_wait_s=0.01, max_wait_s=0.02)
LIMIT = 12


def _text_of(body: dict[str, Any]) -> str:
    return body["messages"][-1]["content"].split("\nText:\n", 1)[1]


def _facts_of(body: dict[str, Any]) -> list[str]:
    keep = body["messages"][-1]["content"].split("Keep verbatim:\n", 1)[1].split("\n\nText:\n", 1)[0]
    return [line[2:] for line in keep.splitlines() if line != "- (nothing)"]


def _reworded(text: str) -> str:
    """What the faithful stub answers: the same text in other words, every fact and frame kept."""
    return text.replace("I'm ", "I am ").replace("I've ", "I have ").replace("Thanks", "Many thanks")


def faithful(body: dict[str, Any]) -> Reply:
    return Reply(content=_reworded(_text_of(body)), prompt_tokens=100, completion_tokens=40)


def _org(tmp_path: Path, name: str = "org") -> str:
    url = f"sqlite:///{tmp_path / f'{name}.db'}"
    generate_org(url, scale="tiny", seed=7)
    return url


def _column(url: str, column: Any) -> dict[str, str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = dict(conn.execute(select(column.class_.Id, column)).all())
    engine.dispose()
    return rows


def _rewrite(url: str, base_url: str, cache: Path, **options: Any):
    engine = create_engine(url)
    try:
        return rewrite_org_text(
            engine, "openai:scripted", base_url=base_url, cache_path=cache, prices=PRICES, retry=FAST,
            **{"limit": LIMIT, "concurrency": 4, **options},
        )  # fmt: skip
    finally:
        engine.dispose()


def test_rewrites_pass_through_the_model_and_the_org_stays_consistent(tmp_path: Path) -> None:
    url = _org(tmp_path)
    before = {name: _column(url, column) for name, column in _COLUMNS.items()}
    with openai_server(faithful) as server:
        reports = _rewrite(url, server.base_url, tmp_path / "cache.jsonl")
    by_field = {r.field: r for r in reports}
    assert set(by_field) == set(FIELDS)
    for report in reports:
        assert report.records == LIMIT and report.rewritten == LIMIT and report.fallbacks == 0, report
        assert (report.input_tokens, report.output_tokens) == (100 * LIMIT, 40 * LIMIT)
        assert report.cost_usd == pytest.approx((100 * 2.0 + 40 * 10.0) * LIMIT / 1e6)
    assert len(server.requests) == 4 * LIMIT
    # every request carried the template text and the facts found in it
    for body in server.requests:
        text, facts = _text_of(body), _facts_of(body)
        assert all(fact in text for fact in facts)
        assert body["temperature"] == 0
    after = {name: _column(url, column) for name, column in _COLUMNS.items()}
    changed = {name: [i for i in after[name] if after[name][i] != before[name][i]] for name in _COLUMNS}
    for name, ids in changed.items():
        assert ids, f"no {name} changed"
        for record_id in ids:
            assert after[name][record_id].startswith(_reworded(before[name][record_id])[:40])
    # the email threads still quote themselves, chats keep their transfer lines: every rule holds
    engine = create_engine(url)
    assert check_org(engine) == []
    with engine.connect() as conn:
        assert conn.scalar(select(OrgInfo.value).where(OrgInfo.key == "text_model")) == "openai:scripted"
    engine.dispose()


def test_a_rewrite_that_drops_a_fact_is_not_used(tmp_path: Path) -> None:
    url = _org(tmp_path)
    descriptions = _column(url, Case.Description)
    dropped: list[str] = []

    def drops_the_order_number(body: dict[str, Any]) -> Reply:
        text = _text_of(body)
        numbers = re.findall(r"\b\d{8}\b", text)
        if numbers and len(dropped) % 2 == 0:  # every other text that states an order number
            dropped.append(text)
            return Reply(content=_reworded(text).replace(numbers[0], "that order of mine"))
        if numbers:
            dropped.append("")
        return faithful(body)

    with openai_server(drops_the_order_number) as server:
        [report] = _rewrite(url, server.base_url, tmp_path / "cache.jsonl", fields=["Case.Description"], concurrency=1)
    lost = [text for text in dropped if text]
    assert lost and report.fallbacks == len(lost) and report.rewritten == LIMIT - len(lost)
    assert report.reasons == {"dropped": len(lost)}
    after = _column(url, Case.Description)
    kept = [i for i in after if after[i] == descriptions[i]]
    assert sorted(descriptions[i] for i in kept if descriptions[i] in lost) == sorted(lost)
    assert all("that order of mine" not in text for text in after.values())


def test_a_rewrite_that_breaks_a_chat_frame_is_not_used() -> None:
    text = "Chat Started: Monday\n( 5s ) Agent Ann Lee joined the chat.\n( 20s ) Ann Lee: Hi Bo, order 00000102?"
    piece = Piece("LiveChatTranscript.Body", "x", text, ("Ann Lee", "00000102"))
    assert rejection(piece, text.replace("Hi Bo", "Hello Bo")) is None
    assert rejection(piece, text.replace("( 20s ) Ann Lee:", "( 21s ) Ann Lee:")) == "changed the frame"
    assert rejection(piece, text.replace("joined the chat", "is here")) == "changed the frame"
    assert rejection(piece, text.replace("00000102", "102")) == "dropped '00000102'"
    description = Piece("Case.Description", "y", "The Tempo Training Shorts are torn.", ())
    assert rejection(description, "The Tempo Training Shorts is torn.") == "disagreement 'Shorts is'"


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_removing_any_fact_is_caught(data: st.DataObject) -> None:
    names = re.compile(r"(?<!\w)(?:Tempo Training Shorts|Ann Lee|Stridewell Sports)(?!\w)")
    text = data.draw(
        st.sampled_from(
            [
                "Hi Ann Lee, the Tempo Training Shorts from order 00001234 cost $49.99 on Mar 3, 2024 at 10:15.",
                "Call 1-800-555-0124 (8 a.m. to 10 p.m.) about the Tempo Training Shorts; 18 months of warranty.",
                "Stridewell Sports sizes run US 5\u201314 and weigh 285 grams per pair.",
            ]
        )
    )
    facts = facts_in(text, names)
    assert facts
    fact = data.draw(st.sampled_from(facts))
    piece = Piece("Case.Description", "z", text, facts)
    assert rejection(piece, text) is None
    without = re.sub(rf"(?<![\w$]){re.escape(fact)}(?!\w)", "something", text)
    assert rejection(piece, without) == f"dropped {fact!r}"


@pytest.mark.slow
def test_an_interrupted_pass_resumes_without_asking_again(tmp_path: Path) -> None:
    cache = tmp_path / "cache.jsonl"
    answered: list[str] = []

    def fails_after_five(body: dict[str, Any]) -> Reply:
        if len(answered) >= 5:
            return Reply(status=400)  # not worth retrying: the pass stops
        answered.append(body["messages"][-1]["content"])
        return faithful(body)

    with openai_server(fails_after_five) as server, pytest.raises(UserFacingError, match="run the same command"):
        _rewrite(_org(tmp_path, "first"), server.base_url, cache, concurrency=1)
    assert len(cache.read_text().splitlines()) == 5
    # started again on the same org (same seed): only the prompts without an answer are sent
    url = _org(tmp_path, "second")
    with openai_server(faithful) as server:
        reports = _rewrite(url, server.base_url, cache)
    asked = [body["messages"][-1]["content"] for body in server.requests]
    assert not set(asked) & set(answered)
    assert len(asked) == 4 * LIMIT - 5 and sum(r.cached for r in reports) == 5
    assert sum(r.cost_usd for r in reports) == pytest.approx((100 * 2.0 + 40 * 10.0) * len(asked) / 1e6)
    # a third run costs nothing and writes the same org
    third = _org(tmp_path, "third")
    with openai_server(faithful) as server:
        _rewrite(third, server.base_url, cache)
    assert server.requests == []
    assert _column(third, Case.Description) == _column(url, Case.Description)
    assert _column(third, EmailMessage.TextBody) == _column(url, EmailMessage.TextBody)


def test_policy_conversations_are_never_sent(tmp_path: Path) -> None:
    url = _org(tmp_path)
    engine = create_engine(url)
    with engine.connect() as conn:
        policy_cases = set(conn.scalars(select(LatentCasePolicy.case_id)))
        policy_texts = set(
            conn.scalars(select(EmailMessage.TextBody).where(EmailMessage.ParentId.in_(policy_cases)))
        ) | set(conn.scalars(select(LiveChatTranscript.Body).where(LiveChatTranscript.CaseId.in_(policy_cases))))
    engine.dispose()
    assert policy_cases and policy_texts
    with openai_server(faithful) as server:
        _rewrite(url, server.base_url, tmp_path / "cache.jsonl", limit=None, fields=["LiveChatTranscript.Body"])
    sent = {_text_of(body) for body in server.requests}
    assert sent and not sent & policy_texts


def test_an_unknown_field_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserFacingError, match="cannot rewrite Case.Subject"):
        _rewrite(_org(tmp_path), "http://127.0.0.1:9/v1", tmp_path / "c.jsonl", fields=["Case.Subject"])


def test_frames() -> None:
    article = "Article type: FAQ\n\nSummary: Returns.\n\nOverview\nYou can return it.\n| a | b |\n- Returning an Item"
    assert frame("Knowledge__kav.FAQ_Answer__c", article) == ["Article type: FAQ", "Overview", "| a | b |"]
    assert frame("Case.Description", "Anything. At all.") == []


_COLUMNS = {
    "Case.Description": Case.Description,
    "EmailMessage.TextBody": EmailMessage.TextBody,
    "LiveChatTranscript.Body": LiveChatTranscript.Body,
}


@pytest.mark.slow
def test_generate_with_a_text_model_on_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # the report table on one line per field
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    args = ["generate", "--scale", "tiny", "--seed", "7", "--org-db", url, "--force", "--text-limit", "3"]
    with openai_server(faithful) as server:
        args += ["--text-model", "openai:scripted", "--text-base-url", server.base_url]
        args += ["--text-cache", str(tmp_path / "cache.jsonl")]
        code, _, first = cli(*args)
        sent = len(server.requests)
        code_again, _, again = cli(*args)
    assert code == 0 and code_again == 0, first + again
    assert sent == 4 * 3 and len(server.requests) == sent  # the second run is answered from the cache
    assert "Text pass through openai:scripted" in first and "Generated the org" in first
    row = next(line for line in again.splitlines() if "Case.Description" in line and "│" in line)
    cells = [cell.strip() for cell in row.split("│") if cell.strip()]
    assert cells[1:6] == ["3", "3", "0", "3", "0"]  # records, rewritten, kept template, from cache, requests
