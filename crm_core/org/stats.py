"""Record counts and a content digest of an org.

The digest is a SHA-256 over every table the generator writes (objects, latent tables and
``org_info``). Each row is serialized canonically and hashed; row hashes are summed, so the
digest does not depend on the order in which a database returns rows (SQLite and PostgreSQL
sort mixed-case ids differently). Same seed and flags give the same digest on both.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, func, inspect, select

from crm_core.errors import UserFacingError
from crm_core.org.generator import org_tables
from crm_core.org.schema import OBJECT_MODELS, OrgInfo

_MOD = 1 << 128


class OrgStats(BaseModel):
    """Counts per object (the 16 objects), per hidden table, the org's facts and its digest."""

    counts: dict[str, int]
    latent_counts: dict[str, int]
    info: dict[str, str]
    digest: str


def canonical(value: Any) -> str:
    """One value as text, identically for what SQLite and PostgreSQL return."""
    if value is None:
        return "\x00"
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def org_stats(engine: Engine, *, with_digest: bool = True) -> OrgStats:
    """Counts and digest of the org behind `engine` (UserFacingError if there is no org)."""
    with engine.connect() as conn:
        existing = set(inspect(conn).get_table_names())
        if "Case" not in existing or OrgInfo.__tablename__ not in existing:
            raise UserFacingError(f"no generated org at {engine.url!r}: run `python -m crm_core generate` first")
        object_names = {m.__tablename__ for m in OBJECT_MODELS}
        counts: dict[str, int] = {}
        latent_counts: dict[str, int] = {}
        overall = hashlib.sha256()
        for table in org_tables():
            if with_digest:
                total, n = 0, 0
                result = conn.execution_options(yield_per=20_000).execute(select(table))
                for row in result:
                    line = "\x1f".join(canonical(v) for v in row).encode()
                    total = (total + int.from_bytes(hashlib.blake2b(line, digest_size=16).digest(), "big")) % _MOD
                    n += 1
                overall.update(f"{table.name}\x1e{n}\x1e{total:032x}\x1d".encode())
            else:
                n = conn.execute(select(func.count()).select_from(table)).scalar_one()
            (counts if table.name in object_names else latent_counts)[table.name] = n
        info = {row.key: row.value for row in conn.execute(select(OrgInfo.__table__))}
    return OrgStats(
        counts=counts, latent_counts=latent_counts, info=info, digest=overall.hexdigest() if with_digest else ""
    )
