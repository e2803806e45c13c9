"""The realism report: how deep, varied and consistent the org's free text is.

Per text field: record count, length distribution (words, lines), the share of distinct word
bigrams, the share of sentences repeated from another record and the share of records that
are near-duplicates of another record; then the consistency rules of :mod:`crm_core.org.check`
that compare text with facts. Definitions (the same numbers the issue's targets use):

- a *sentence* has at least four words; digits are masked and case is folded before sentences
  are compared, so "order 00001234" and "order 00005678" are the same sentence;
- a sentence is *repeated* when another record of the field contains it too;
- two records are *near-duplicates* when the Jaccard similarity of their sets of 5-word
  shingles is at least 0.8, found with MinHash and locality-sensitive hashing (datasketch),
  so the report stays fast at any scale;
- email replies quote earlier messages by design: lines starting with ``>`` are not counted.

Fields with more than :data:`SAMPLE_CAP` records are measured on an evenly spaced sample (by Id),
which the report says.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

import numpy as np
from datasketch import MinHash, MinHashLSH
from pydantic import BaseModel
from sqlalchemy import Engine, func, select

from crm_core.org.check import CONSISTENCY_RULES, check_org
from crm_core.org.schema import Case, EmailMessage, Knowledge, LiveChatTranscript, Product2

SAMPLE_CAP = 20_000
NEAR_DUPLICATE_JACCARD = 0.8
SHINGLE_WORDS = 5
MIN_SENTENCE_WORDS = 4
_PERMUTATIONS = 64

TEXT_FIELDS = (
    (Case, "Subject"),
    (Case, "Description"),
    (EmailMessage, "TextBody"),
    (LiveChatTranscript, "Body"),
    (Knowledge, "FAQ_Answer__c"),
    (Knowledge, "Summary"),
    (Product2, "Description"),
)

_WORD = re.compile(r"[a-z0-9']+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_DIGIT = re.compile(r"\d")


class FieldRealism(BaseModel):
    """The realism figures of one text field."""

    field: str
    records: int
    measured: int  # records measured (all, or an evenly spaced sample)
    words_p10: float
    words_median: float
    words_p90: float
    words_max: int
    lines_median: float
    distinct_bigram_share: float
    repeated_sentence_share: float
    near_duplicate_share: float


class ConsistencyResult(BaseModel):
    """One consistency rule and how many records break it."""

    rule: str
    violations: int
    examples: list[str]


class RealismReport(BaseModel):
    """Every text field's figures and the consistency rules' results."""

    fields: list[FieldRealism]
    consistency: list[ConsistencyResult]

    @property
    def consistent(self) -> bool:
        return all(result.violations == 0 for result in self.consistency)


def realism_report(engine: Engine) -> RealismReport:
    """Measure the org's free text and run the consistency rules."""
    fields = []
    with engine.connect() as conn:
        for model, name in TEXT_FIELDS:
            column = model.__table__.c[name]
            total = conn.execute(select(func.count()).select_from(model.__table__)).scalar_one()
            stride = max(1, -(-total // SAMPLE_CAP))
            query = select(column).order_by(model.__table__.c.Id)
            texts = [
                _counted_text(value or "")
                for n, (value,) in enumerate(conn.execution_options(yield_per=10_000).execute(query))
                if n % stride == 0
            ]
            fields.append(measure_field(f"{model.__tablename__}.{name}", texts, total))
    violations = check_org(engine, rules=CONSISTENCY_RULES)
    consistency = []
    for rule in CONSISTENCY_RULES:
        mine = [v for v in violations if v.rule == rule]
        count = sum(int(v.message.split()[0]) if v.object == "*" else 1 for v in mine)
        consistency.append(ConsistencyResult(rule=rule, violations=count, examples=[str(v) for v in mine[:3]]))
    return RealismReport(fields=fields, consistency=consistency)


def _counted_text(text: str) -> str:
    """The text a field's figures count: quoted lines of an email reply are left out."""
    if ">" not in text:
        return text
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(">"))


def sentences(text: str) -> list[str]:
    """The comparable sentences of a text: ≥ 4 words, case folded, digits masked."""
    found = []
    for part in _SENTENCE_END.split(text):
        words = _WORD.findall(_DIGIT.sub("0", part.lower()))
        if len(words) >= MIN_SENTENCE_WORDS:
            found.append(" ".join(words))
    return found


def measure_field(field: str, texts: list[str], records: int | None = None) -> FieldRealism:
    """The figures of one field from its texts (`records` is the field's full count when sampled)."""
    words = [_WORD.findall(text.lower()) for text in texts]
    lengths = np.array([len(w) for w in words] or [0])
    lines = np.array([len([line for line in text.splitlines() if line.strip()]) for text in texts] or [0])
    bigrams: set[tuple[str, str]] = set()
    n_bigrams = 0
    for w in words:
        pairs = list(zip(w, w[1:], strict=False))
        bigrams.update(pairs)
        n_bigrams += len(pairs)
    return FieldRealism(
        field=field,
        records=len(texts) if records is None else records,
        measured=len(texts),
        words_p10=float(np.percentile(lengths, 10)),
        words_median=float(np.median(lengths)),
        words_p90=float(np.percentile(lengths, 90)),
        words_max=int(lengths.max()),
        lines_median=float(np.median(lines)),
        distinct_bigram_share=round(len(bigrams) / n_bigrams, 4) if n_bigrams else 0.0,
        repeated_sentence_share=round(repeated_sentence_share(texts), 4),
        near_duplicate_share=round(near_duplicate_share(words), 4),
    )


def repeated_sentence_share(texts: Iterable[str]) -> float:
    """Share of sentences (≥ 4 words, digits masked) that another record contains too."""
    per_record = [sentences(text) for text in texts]
    records_with: Counter[str] = Counter()
    for found in per_record:
        records_with.update(set(found))
    total = sum(len(found) for found in per_record)
    repeated = sum(1 for found in per_record for s in found if records_with[s] > 1)
    return repeated / total if total else 0.0


def shingles(words: list[str]) -> set[bytes]:
    """The 5-word shingles of a text (a shorter text is one shingle)."""
    if len(words) < SHINGLE_WORDS:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i : i + SHINGLE_WORDS]).encode() for i in range(len(words) - SHINGLE_WORDS + 1)}


def near_duplicate_share(texts_words: list[list[str]]) -> float:
    """Share of records whose shingle set has Jaccard ≥ 0.8 with another record's (MinHash + LSH)."""
    if len(texts_words) < 2:
        return 0.0
    seed = MinHash(num_perm=_PERMUTATIONS, seed=1)
    lsh = MinHashLSH(threshold=NEAR_DUPLICATE_JACCARD, num_perm=_PERMUTATIONS)
    hashes: list[MinHash] = []
    duplicate = np.zeros(len(texts_words), dtype=bool)
    for n, words in enumerate(texts_words):
        minhash = MinHash(num_perm=_PERMUTATIONS, permutations=seed.permutations, scheme=seed.scheme)
        minhash.update_batch(shingles(words))
        for other in lsh.query(minhash):
            if minhash.jaccard(hashes[other]) >= NEAR_DUPLICATE_JACCARD:
                duplicate[n] = duplicate[other] = True
        lsh.insert(n, minhash, check_duplication=False)
        hashes.append(minhash)
    return float(duplicate.mean())
