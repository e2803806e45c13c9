"""The optional LLM pass of ``generate --text-model``: free text rewritten in a natural voice, facts kept.

Each chosen record's template text goes to a chat model (any ``provider:model`` of
:mod:`crm_core.llm`) with the facts it must keep verbatim: product and person names, the
company's name, and every number (order numbers, prices, dates, times, phone numbers, sizes),
plus, for an article, the answers its planted questions need. A rewrite is used only if every one
of those facts survives, its frame is intact (a chat's timestamps and speakers and its system
lines; an article's type line, headings and table rows) and no verb disagrees with a product
name; otherwise the record keeps its template text and the report counts the fallback.

Emails are rewritten without the earlier message they quote; the quote is then rebuilt from the
quoted message's final text, so a thread still quotes itself exactly. The emails and chats of
policy cases (``latent_case_policy``) are never sent: their exact sentences are the ground truth
of the policy tasks.

Answers are cached on disk (JSON lines) by model and prompt, written as they arrive: the same
seed and model give the same org, and a run that was interrupted, once started again, sends only
the prompts that had no answer yet.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from sqlalchemy import Connection, Engine, bindparam, select, update

from crm_core.errors import UserFacingError, first_line
from crm_core.llm import PriceTable, RetryPolicy, invoke_with_retry, load_prices, make_chat_model, own_http_client
from crm_core.org.catalog import COMPANY
from crm_core.org.check import agreement_error
from crm_core.org.schema import (
    Account,
    EmailMessage,
    Knowledge,
    LatentArticleFact,
    LatentCasePolicy,
    LiveChatTranscript,
    OrgInfo,
    Product2,
    User,
)
from crm_core.org.schema import Case as CaseModel
from crm_core.org.text import quote_lines, split_quote

FIELDS = ("Case.Description", "EmailMessage.TextBody", "LiveChatTranscript.Body", "Knowledge__kav.FAQ_Answer__c")
"""The free-text fields the pass can rewrite, as ``Object.Field``."""

DEFAULT_CACHE = Path("data/text_cache.jsonl")

SYSTEM = (
    "You edit the free text of a customer-service CRM (Salesforce Service Cloud) so that it reads as if "
    "real people wrote it: vary the wording and the rhythm, keep the writer's tone and roughly the same "
    "length. Keep every fact: each string listed under 'Keep verbatim' must appear in your text exactly "
    "as written. Add no facts (no new names, numbers, dates, products, prices or promises). Reply with "
    "the rewritten text only."
)
KINDS = {
    "Case.Description": "This is a case description, written by the customer.",
    "EmailMessage.TextBody": "This is one email of a support thread (without the earlier message it quotes).",
    "LiveChatTranscript.Body": (
        "This is a chat transcript. Keep every line in its place: the two header lines and every line "
        "without a speaker exactly as they are, and each line's '( time ) Name:' prefix unchanged; "
        "rewrite only what the speakers say, one line for one line."
    ),
    "Knowledge__kav.FAQ_Answer__c": (
        "This is a knowledge article. Keep its first line, every section heading and every table row "
        "exactly as they are; rewrite the prose sentences and list items."
    ),
}
MAX_OUTPUT_TOKENS = 4000

_NUMBER = re.compile(r"(?<![\w$])\$?\d+(?:[.,:/\u2013-]\d+)*%?(?!\w)")
_CHAT_PREFIX = re.compile(r"^\( (?:\d+m )?\d+s \) [^:]{1,60}: ")


@dataclass(frozen=True)
class Piece:
    """One text to rewrite: where it lives, its template text and the facts a rewrite must keep."""

    field: str
    record_id: str
    text: str
    facts: tuple[str, ...]

    def prompt(self) -> list[dict[str, str]]:
        """The messages sent for this text (also the key of its cached answer)."""
        keep = "\n".join(f"- {fact}" for fact in self.facts) or "- (nothing)"
        user = f"{KINDS[self.field]}\n\nKeep verbatim:\n{keep}\n\nText:\n{self.text}"
        return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def frame(field_name: str, text: str) -> list[str]:
    """The parts of a text a rewrite must leave exactly as they are (its frame)."""
    lines = text.splitlines()
    if field_name == "LiveChatTranscript.Body":
        return [m.group(0) if (m := _CHAT_PREFIX.match(line)) else line for line in lines]
    if field_name == "Knowledge__kav.FAQ_Answer__c":
        return [line for n, line in enumerate(lines) if n == 0 or line.startswith("|") or _is_heading(line)]
    return []


def _is_heading(line: str) -> bool:
    words = line.split()
    return 0 < len(words) <= 5 and line[-1] not in ".:?!)" and not line.startswith(("-", "|")) and line[0].isupper()


def facts_in(text: str, names: re.Pattern[str]) -> tuple[str, ...]:
    """The facts `text` states that a rewrite must keep verbatim: the `names` it mentions and every number."""
    found = dict.fromkeys([*names.findall(text), *_NUMBER.findall(text)])
    return tuple(found)


def rejection(piece: Piece, answer: str) -> str | None:
    """Why `answer` cannot replace the piece's text (None when it can)."""
    text = answer.strip()
    if not text:
        return "empty answer"
    for fact in piece.facts:
        if not re.search(rf"(?<![\w$]){re.escape(fact)}(?!\w)", text):
            return f"dropped {fact!r}"
    if frame(piece.field, text) != frame(piece.field, piece.text):
        return "changed the frame"
    if (error := agreement_error(text)) and not agreement_error(piece.text):
        return f"disagreement {error!r}"
    return None


class PromptCache:
    """Answers by model and prompt, in a JSON-lines file written as each answer arrives."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.answers: dict[str, dict[str, Any]] = {}
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                    self.answers[entry["key"]] = entry
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue  # a line cut short by an interruption: its prompt is asked again
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")

    @staticmethod
    def key(model: str, messages: list[dict[str, str]]) -> str:
        return hashlib.sha256(json.dumps([model, messages], sort_keys=True).encode()).hexdigest()

    def get(self, key: str) -> dict[str, Any] | None:
        return self.answers.get(key)

    def put(self, key: str, answer: str, input_tokens: int, output_tokens: int) -> None:
        entry = {"key": key, "answer": answer, "input_tokens": input_tokens, "output_tokens": output_tokens}
        self.answers[key] = entry
        self._file.write(json.dumps(entry) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


@dataclass
class FieldReport:
    """What the pass did to one field."""

    field: str
    records: int = 0
    rewritten: int = 0
    fallbacks: int = 0
    cached: int = 0
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0
    """US dollars of this run's requests (cached answers cost nothing); None when the model has no price."""
    reasons: Counter[str] = field(default_factory=Counter)


Progress = Callable[[FieldReport, int], None]
"""Called after each answer with the field's report and how many of its records are done."""


def rewrite_org_text(
    engine: Engine,
    model: str,
    *,
    base_url: str | None = None,
    fields: Iterable[str] = FIELDS,
    limit: int | None = None,
    cache_path: Path = DEFAULT_CACHE,
    concurrency: int = 8,
    prices: PriceTable | None = None,
    retry: RetryPolicy | None = None,
    progress: Progress | None = None,
) -> list[FieldReport]:
    """Rewrite the chosen fields of the org at `engine` through `model` (at most `limit` records per
    field, in Id order); returns a report per field. A model error that retries do not cure stops
    the pass with a UserFacingError; the answers so far stay cached."""
    chosen = list(fields)
    unknown = [f for f in chosen if f not in FIELDS]
    if unknown:
        raise UserFacingError(f"--text-fields: cannot rewrite {', '.join(unknown)}; choose from {', '.join(FIELDS)}")
    spec = model if ":" in model or not base_url else f"openai:{model}"
    make_chat_model(spec, base_url=base_url)  # a missing package or key fails here, before any work
    cache = PromptCache(cache_path)
    price_table = prices or load_prices()
    reports = []
    try:
        with engine.connect() as conn:
            names = _names(conn)
            skipped = set(conn.scalars(select(LatentCasePolicy.case_id)))
            pieces = {name: _pieces(conn, name, names, skipped, limit) for name in chosen}
        for name in chosen:
            report = FieldReport(name, records=len(pieces[name]))
            answers = asyncio.run(
                _answer_all(
                    pieces[name], spec, base_url, cache, concurrency, retry or RetryPolicy(), report,
                    lambda n_in, n_out: price_table.cost(spec, n_in, n_out), progress,
                )
            )  # fmt: skip
            final = {}
            for piece in pieces[name]:
                reason = rejection(piece, answers[piece.record_id])
                if reason is None:
                    final[piece.record_id] = answers[piece.record_id].strip()
                    report.rewritten += 1
                else:
                    report.fallbacks += 1
                    report.reasons[reason.split(" ", 1)[0]] += 1
            with engine.begin() as conn:
                _store(conn, name, final)
            reports.append(report)
        with engine.begin() as conn:
            conn.execute(OrgInfo.__table__.delete().where(OrgInfo.key == "text_model"))
            conn.execute(OrgInfo.__table__.insert().values(key="text_model", value=spec))
    finally:
        cache.close()
    return reports


async def _answer_all(
    pieces: list[Piece],
    spec: str,
    base_url: str | None,
    cache: PromptCache,
    concurrency: int,
    retry: RetryPolicy,
    report: FieldReport,
    cost: Callable[[int, int], float | None],
    progress: Progress | None,
) -> dict[str, str]:
    chat_model = make_chat_model(spec, base_url=base_url, max_tokens=MAX_OUTPUT_TOKENS, **own_http_client(spec, 120.0))
    gate = asyncio.Semaphore(max(1, concurrency))
    answers: dict[str, str] = {}

    async def answer(piece: Piece) -> None:
        messages = piece.prompt()
        key = PromptCache.key(spec, messages)
        entry = cache.get(key)
        if entry is None:
            async with gate:
                try:
                    reply = await invoke_with_retry(
                        chat_model, [SystemMessage(messages[0]["content"]), HumanMessage(messages[1]["content"])], retry
                    )
                except Exception as exc:
                    raise UserFacingError(
                        f"the text model {spec} failed on {piece.field} {piece.record_id}: {first_line(exc)}; "
                        "the answers so far are cached: run the same command again to resume"
                    ) from None
            usage = reply.usage_metadata or {}
            text = reply.content if isinstance(reply.content, str) else reply.text
            cache.put(key, text, int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0)))
            entry = cache.get(key)
            report.requests += 1
            report.input_tokens += entry["input_tokens"]
            report.output_tokens += entry["output_tokens"]
            report.cost_usd = cost(report.input_tokens, report.output_tokens)
        else:
            report.cached += 1
        answers[piece.record_id] = entry["answer"]
        if progress is not None:
            progress(report, len(answers))

    await asyncio.gather(*(answer(piece) for piece in pieces))
    return answers


def _names(conn: Connection) -> re.Pattern[str]:
    """Every name a text may mention: products, agents, customers' first names, the company."""
    names = {COMPANY}
    names.update(conn.scalars(select(Product2.Name)))
    names.update(conn.scalars(select(User.Name)))
    names.update(n for n in conn.scalars(select(Account.FirstName).distinct()) if n)
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def _pieces(conn: Connection, name: str, names: re.Pattern[str], skipped: set[str], limit: int | None) -> list[Piece]:
    """The texts of one field to rewrite, in Id order (emails without their quotes)."""
    if name == "Case.Description":
        query = select(CaseModel.Id, CaseModel.Description)
    elif name == "EmailMessage.TextBody":
        query = select(EmailMessage.Id, EmailMessage.TextBody).where(EmailMessage.ParentId.not_in(skipped))
    elif name == "LiveChatTranscript.Body":
        query = select(LiveChatTranscript.Id, LiveChatTranscript.Body).where(LiveChatTranscript.CaseId.not_in(skipped))
    else:
        query = select(Knowledge.Id, Knowledge.FAQ_Answer__c)
    rows = conn.execute(query.order_by(query.selected_columns[0]).limit(limit)).all()
    answers: dict[str, list[str]] = {}
    if name == "Knowledge__kav.FAQ_Answer__c":
        for article_id, answer in conn.execute(select(LatentArticleFact.article_id, LatentArticleFact.answer)):
            answers.setdefault(article_id, []).append(answer)
    pieces = []
    for record_id, text in rows:
        if not text:
            continue
        own = split_quote(text)[0] if name == "EmailMessage.TextBody" else text
        facts = dict.fromkeys([*answers.get(record_id, []), *facts_in(own, names)])
        pieces.append(Piece(name, record_id, own, tuple(facts)))
    return pieces


def _store(conn: Connection, name: str, final: dict[str, str]) -> None:
    """Write the accepted rewrites; an email's quote is rebuilt from the final text of the message it quotes."""
    if name == "EmailMessage.TextBody":
        final = _requote(conn, final)
    if not final:
        return
    table = {
        "Case.Description": CaseModel,
        "EmailMessage.TextBody": EmailMessage,
        "LiveChatTranscript.Body": LiveChatTranscript,
        "Knowledge__kav.FAQ_Answer__c": Knowledge,
    }[name].__table__
    column = name.split(".", 1)[1]
    statement = update(table).where(table.c.Id == bindparam("record_id")).values({column: bindparam("text")})
    conn.execute(statement, [{"record_id": k, "text": v} for k, v in final.items()])


def _requote(conn: Connection, own: dict[str, str]) -> dict[str, str]:
    """Whole email bodies: each rewritten email's new text, and each reply's quote of a rewritten message."""
    mail = EmailMessage.__table__.c
    query = select(mail.ParentId, mail.Id, mail.TextBody).order_by(mail.ParentId, mail.MessageDate, mail.Id)
    bodies: dict[str, str] = {}
    thread: dict[str, str] = {}  # template text -> final text, of the earlier messages of the thread
    current = None
    for parent, record_id, body in conn.execute(query):
        if parent != current:
            current, thread = parent, {}
        text, head, quoted_text = split_quote(body or "")
        new_text = own.get(record_id, text)
        new_quote = thread.get(quoted_text, quoted_text) if head else None
        if new_text != text or (head and new_quote != quoted_text):
            bodies[record_id] = new_text + (f"\n\n{head}\n{quote_lines(new_quote)}" if head else "")
        thread[text] = new_text
    return bodies
