"""Same seed and flags give the same org, on SQLite and PostgreSQL; existing orgs are protected."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from crm_core.db import make_readonly_engine
from crm_core.errors import UserFacingError
from crm_core.org.check import check_org
from crm_core.org.generator import generate_org
from crm_core.org.stats import org_stats


def stats_of(url: str):
    engine = make_readonly_engine(url) if url.startswith("sqlite") else create_engine(url)
    try:
        return org_stats(engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def tiny_stats(tiny_org_url: str):
    return stats_of(tiny_org_url)


def test_same_seed_same_digest(tiny_stats, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'again.db'}"
    generate_org(url, scale="tiny", seed=7)
    again = stats_of(url)
    assert again.digest == tiny_stats.digest
    assert again.counts == tiny_stats.counts


def test_other_seed_or_flags_change_the_digest(tiny_stats, tmp_path) -> None:
    other_seed = f"sqlite:///{tmp_path / 'seed8.db'}"
    generate_org(other_seed, scale="tiny", seed=8)
    flat = f"sqlite:///{tmp_path / 'flat.db'}"
    generate_org(flat, scale="tiny", seed=7, latent=False)
    digests = {tiny_stats.digest, stats_of(other_seed).digest, stats_of(flat).digest}
    assert len(digests) == 3
    assert stats_of(flat).info["latent"] == "false"


def test_stats_counts_match_sql(tiny_org_url: str, tiny_stats) -> None:
    engine = make_readonly_engine(tiny_org_url)
    with engine.connect() as conn:
        for name, count in {**tiny_stats.counts, **tiny_stats.latent_counts}.items():
            assert conn.execute(text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one() == count, name
    engine.dispose()
    assert len(tiny_stats.counts) == 16
    assert tiny_stats.info["seed"] == "7" and tiny_stats.info["scale"] == "tiny"
    assert tiny_stats.info["generator_version"]


def test_digest_sees_a_one_character_change(tiny_org_url: str, tiny_stats, tmp_path) -> None:
    import shutil

    from crm_core.db import sqlite_path

    copy = tmp_path / "edited.db"
    shutil.copy(sqlite_path(tiny_org_url), copy)
    engine = create_engine(f"sqlite:///{copy}")
    with engine.begin() as conn:
        conn.execute(
            text("""UPDATE "Case" SET "Subject" = "Subject" || '!' WHERE "Id" = (SELECT MIN("Id") FROM "Case")""")
        )
    assert org_stats(engine).digest != tiny_stats.digest
    engine.dispose()


def test_existing_org_is_not_overwritten_without_force(tiny_stats, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'org.db'}"
    generate_org(url, scale="tiny", seed=7)
    with pytest.raises(UserFacingError, match="already exists.*--force"):
        generate_org(url, scale="tiny", seed=9)
    assert stats_of(url).digest == tiny_stats.digest  # untouched
    generate_org(url, scale="tiny", seed=7, force=True)
    assert stats_of(url).digest == tiny_stats.digest


def test_progress_reports_every_stage(tmp_path) -> None:
    seen: dict[str, tuple[int, int]] = {}
    generate_org(f"sqlite:///{tmp_path / 'p.db'}", cases=50, seed=1, progress=lambda s, d, t: seen.update({s: (d, t)}))
    assert {"catalog", "people", "orders", "cases", "knowledge", "indexes"} <= set(seen)
    assert all(done == total for done, total in seen.values())
    assert seen["cases"] == (50, 50)


@pytest.mark.postgres
def test_postgresql_org_equals_sqlite_org(tiny_org_pg_url: str, tiny_stats) -> None:
    pg = stats_of(tiny_org_pg_url)
    assert pg.counts == tiny_stats.counts
    assert pg.digest == tiny_stats.digest


@pytest.mark.postgres
def test_postgresql_org_passes_check(tiny_org_pg_url: str) -> None:
    engine = make_readonly_engine(tiny_org_pg_url)
    try:
        assert check_org(engine) == []
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgresql_refuses_overwrite(tiny_org_pg_url: str) -> None:
    with pytest.raises(UserFacingError, match="already exists"):
        generate_org(tiny_org_pg_url, scale="tiny", seed=7)


@pytest.mark.slow
def test_case_batches_drawn_by_several_processes_give_the_same_org(tmp_path, monkeypatch) -> None:
    import crm_core.org.generator as generator

    monkeypatch.setattr(generator, "BATCH", 70)  # five batches of cases at tiny
    digests = {}
    for workers in (1, 2):
        url = f"sqlite:///{tmp_path / f'w{workers}.db'}"
        generate_org(url, scale="tiny", seed=7, workers=workers)
        digests[workers] = stats_of(url).digest
        engine = create_engine(url)
        assert check_org(engine) == []
        with engine.connect() as conn:  # chats are numbered across batches
            names = [n for (n,) in conn.execute(text('SELECT "Name" FROM "LiveChatTranscript" ORDER BY "Id"'))]
        engine.dispose()
        assert names == [f"{n:08d}" for n in range(1, len(names) + 1)]
    assert digests[1] == digests[2]


@pytest.mark.postgres
def test_case_batches_from_workers_load_into_postgresql_alike(tmp_path, monkeypatch, pg_url: str) -> None:
    import crm_core.org.generator as generator

    monkeypatch.setattr(generator, "BATCH", 70)
    sqlite = f"sqlite:///{tmp_path / 'one.db'}"
    generate_org(sqlite, scale="tiny", seed=7, workers=1)
    generate_org(pg_url, scale="tiny", seed=7, workers=2)  # forked while the COPY transaction is open
    assert stats_of(pg_url).digest == stats_of(sqlite).digest
