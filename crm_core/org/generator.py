"""Generate a simulated org from a seed, into SQLite or PostgreSQL.

The plan of the org (who orders what when, which order items get a case, who handles it, how
long it takes) is drawn first as numpy arrays, which stay small (a few integers per record).
Records are then built and inserted stream-wise in batches with SQLAlchemy Core, so the rows
themselves are never all held in memory. Indexes are created after the bulk load.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import multiprocessing
import os
import random
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from operator import itemgetter
from typing import Any

import numpy as np
from faker import Faker
from sqlalchemy import Connection, Engine, Table, insert, inspect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.schema import AddConstraint, CreateTable

from crm_core.db import DatabaseURLError, is_sqlite, make_engine
from crm_core.errors import UserFacingError, first_line
from crm_core.org import catalog, knowledge
from crm_core.org import text as texts
from crm_core.org.catalog import DAYS, END, ISSUES, START, STATES
from crm_core.org.categories import article_categories
from crm_core.org.grammar import Voice
from crm_core.org.id_arrays import make_ids
from crm_core.org.ids import make_id
from crm_core.org.latent import SEASON_MONTHS, Latents, draw_latents, seasonal_factor
from crm_core.org.products import ProductInfo, product_description, product_details
from crm_core.org.scales import Scale, resolve_scale
from crm_core.org.schema import OBJECT_MODELS, Base, LatentBase
from crm_core.org.search_index import build_search_index

GENERATOR_VERSION = "1"
BATCH = 5000
Progress = Callable[[str, int, int], None]
Row = dict[str, Any]
CaseBatch = tuple[list[Row], list[Row], list[Row], list[Row], list[Row]]

_DAY_DATES = np.array([START.date() + dt.timedelta(days=d) for d in range(DAYS)], dtype=object)
_MONTH_OF_DAY = np.array([d.month for d in _DAY_DATES], dtype=np.int64)
_FREE_MAIL = ("example.com", "example.net", "example.org", "mail.example.com")
# Case origins (Email, Web, Phone, Chat): the overall mix, and how a customer's voice shifts it.
CHANNEL_MIX = (0.35, 0.2, 0.25, 0.2)
CASUAL_CHANNELS = (0.7, 1.0, 0.8, 2.2)
TERSE_CHANNELS = (0.8, 1.2, 1.3, 1.0)
DETAILED_CHANNELS = (1.5, 1.0, 0.9, 0.7)


def generate_org(
    url: str,
    *,
    scale: str = "default",
    cases: int | None = None,
    seed: int = 0,
    latent: bool = True,
    force: bool = False,
    progress: Progress | None = None,
    workers: int | None = None,
    beside_search_index: Callable[[], None] | None = None,
) -> None:
    """Generate an org at `url`; an existing org is replaced only with `force` (else UserFacingError).

    The text of cases is drawn by `workers` processes (default: the machine's cores, at most 4)
    when the org has more than one batch of cases; the org is the same for any number of workers.
    `beside_search_index` is work that reads the org but runs no search (the task set's build): on
    PostgreSQL it runs while the server builds the search index, on SQLite after it."""
    size = resolve_scale(scale, cases)
    try:
        engine = make_engine(url, fast_writes=True)
    except DatabaseURLError as exc:
        raise UserFacingError(str(exc)) from None
    try:
        _prepare_database(engine, force=force)
        plan = OrgPlan(size, seed=seed, latent=latent)
        report = progress or (lambda _stage, _done, _total: None)
        _OrgWriter(engine, plan, report, workers or min(4, os.cpu_count() or 1)).write()
        report("search index", 0, 1)
        if beside_search_index is None or engine.dialect.name == "sqlite":
            build_search_index(engine)  # SOSL's full-text index (FTS5 / tsvector + GIN)
            report("search index", 1, 1)
            if beside_search_index is not None:
                beside_search_index()
        else:  # the server builds the index; this process meanwhile does the other work
            with ThreadPoolExecutor(max_workers=1) as pool:
                index = pool.submit(build_search_index, engine)
                try:
                    beside_search_index()
                finally:
                    index.result()
            report("search index", 1, 1)
    except SQLAlchemyError as exc:
        raise UserFacingError(f"database error while generating the org: {first_line(exc)}") from None
    finally:
        engine.dispose()


def create_empty_org(url: str) -> None:
    """Create an org with every table and the search index but no records (to load data into)."""
    try:
        engine = make_engine(url)
    except DatabaseURLError as exc:
        raise UserFacingError(str(exc)) from None
    try:
        _prepare_database(engine, force=False)
        with engine.begin() as conn:
            Base.metadata.create_all(conn)
            LatentBase.metadata.create_all(conn)
        build_search_index(engine)
    except SQLAlchemyError as exc:
        raise UserFacingError(f"database error while creating the org: {first_line(exc)}") from None
    finally:
        engine.dispose()


def org_tables() -> list[Table]:
    """Every table the generator writes: the 16 objects (parents first), then the latent tables."""
    return [*(model.__table__ for model in OBJECT_MODELS), *LatentBase.metadata.sorted_tables]


def _prepare_database(engine: Engine, *, force: bool) -> None:
    try:
        with engine.connect() as conn:
            existing = set(inspect(conn).get_table_names())
    except SQLAlchemyError as exc:
        raise UserFacingError(f"cannot open the org database {engine.url!r}: {first_line(exc)}") from None
    ours = [t for t in org_tables() if t.name in existing]
    if ours and not force:
        raise UserFacingError(f"an org already exists at {engine.url!r}; use --force to replace it")
    if ours:
        with engine.begin() as conn:
            LatentBase.metadata.drop_all(conn)
            Base.metadata.drop_all(conn)


# --- the plan: every random decision, as arrays ---------------------------------------------


class OrgPlan:
    """All random draws of an org, made in a fixed order from the seed."""

    def __init__(self, size: Scale, *, seed: int, latent: bool) -> None:
        self.size = size
        self.seed = seed
        self.latent = latent
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)
        self.py = random.Random(f"{seed}:text")
        knowledge_rng = random.Random(f"{seed}:knowledge")
        self.facts = knowledge.draw_company_facts(knowledge_rng)
        self._plan_products(np.random.default_rng([seed, 1]), random.Random(f"{seed}:products"))
        self.latents: Latents = draw_latents(
            np.random.default_rng([seed, 2]),
            agents=size.agents,
            customers=size.customers,
            kinds=[p.kind for p in self.products],
            categories=len(catalog.CATEGORIES),
        )
        self._plan_people(np.random.default_rng([seed, 3]))
        self._plan_orders(np.random.default_rng([seed, 4]))
        self._plan_voices(np.random.default_rng([seed, 6]))  # before the cases: voices choose channels
        self._plan_cases(np.random.default_rng([seed, 5]))
        self._plan_knowledge(knowledge_rng)

    # products and price books
    def _plan_products(self, rng: np.random.Generator, details: random.Random) -> None:
        kinds = catalog.PRODUCT_KINDS
        combos = [(line, k) for line in range(len(catalog.PRODUCT_LINES)) for k in range(len(kinds))]
        chosen = rng.choice(len(combos), size=self.size.products, replace=False)
        products: list[ProductInfo] = []
        self.descriptions: list[str] = []
        names: set[str] = set()
        for n, c in enumerate(chosen):
            line, k = combos[int(c)]
            kind = kinds[k]
            edition = catalog.PRODUCT_EDITIONS[int(rng.integers(len(catalog.PRODUCT_EDITIONS)))]
            name = f"{catalog.PRODUCT_LINES[line]}{edition} {kind.noun}"
            if name in names:
                name = f"{catalog.PRODUCT_LINES[line]} {kind.noun}"
            names.add(name)
            material = kind.materials[int(rng.integers(len(kind.materials)))]
            color = catalog.COLORS[int(rng.integers(len(catalog.COLORS)))]
            use = kind.uses[int(rng.integers(len(kind.uses)))]
            low, high = kind.price
            price = float(int(rng.integers(low, high + 1))) - 0.01
            code = f"SW-{kind.family[:2].upper()}-{1000 + n}"
            grams, features, fit, wash = product_details(details, kind)
            info = ProductInfo(
                name, kind, catalog.PRODUCT_LINES[line], material, color, use, price, code, grams, features, fit, wash
            )
            products.append(info)
            self.descriptions.append(product_description(details, info, self.facts.warranty[kind.family]))
        self.products = products
        self.popularity = 1.0 / (rng.permutation(len(products)) + 4.0) ** 0.8
        self.active = rng.random(len(products)) > 0.05
        self.product_category = np.array([catalog.CATEGORIES.index(p.kind.category) for p in products])
        self.books = catalog.seasonal_price_books()
        n_books = 1 + len(self.books)
        base = np.array([p.price for p in products])
        prices = np.empty((n_books, len(products)))
        prices[0] = base
        for b, book in enumerate(self.books, start=1):
            discount = rng.uniform(*book.discount, len(products))
            prices[b] = np.round(base * (1 - discount), 2)
        self.prices = prices
        self.book_of_day = np.zeros(DAYS, dtype=np.int64)
        for b, book in enumerate(self.books, start=1):
            first = (book.start - START).days
            last = (book.end - START).days
            self.book_of_day[first:last] = b

    # agents and customers
    def _plan_people(self, rng: np.random.Generator) -> None:
        fake = self.fake
        self.first_names = list(dict.fromkeys(fake.first_name() for _ in range(1500)))
        self.last_names = list(dict.fromkeys(fake.last_name() for _ in range(1500)))
        self.streets = [fake.street_address() for _ in range(1000)]
        self.zips = {code: [fake.zipcode_in_state(code) for _ in range(8)] for code, *_ in STATES}
        size = self.size
        self.agent_first = rng.integers(0, len(self.first_names), size.agents)
        self.agent_last = rng.integers(0, len(self.last_names), size.agents)
        self.cust_first = rng.integers(0, len(self.first_names), size.customers)
        self.cust_last = rng.integers(0, len(self.last_names), size.customers)
        shares = np.array([s[3] for s in STATES], dtype=float)
        self.cust_state = rng.choice(len(STATES), size=size.customers, p=shares / shares.sum())
        self.cust_city = rng.integers(0, 12, size.customers)
        self.cust_street = rng.integers(0, len(self.streets), size.customers)
        self.cust_zip = rng.integers(0, 8, size.customers)
        self.cust_owner = rng.integers(0, size.agents, size.customers)
        self.cust_mail = rng.integers(0, len(_FREE_MAIL), size.customers)
        self.agent_tz = rng.integers(0, len(catalog.TIME_ZONES), size.agents)

    # orders and their items
    def _plan_orders(self, rng: np.random.Generator) -> None:
        size, lat = self.size, self.latents
        rate = lat.order_rate if self.latent else np.ones(size.customers)
        account = rng.choice(size.customers, size=size.orders, p=rate / rate.sum())
        day = rng.integers(0, DAYS, size.orders)
        if self.latent:  # half of a customer's orders fall in their preferred season
            in_season = rng.random(size.orders) < 0.5
            for s, months in enumerate(SEASON_MONTHS):
                pool = np.flatnonzero(np.isin(_MONTH_OF_DAY, months))
                pick = in_season & (lat.preferred_season[account] == s)
                day[pick] = pool[rng.integers(0, len(pool), int(pick.sum()))]
        order_sort = np.lexsort((rng.random(size.orders), day))
        self.order_account = account[order_sort]
        self.order_day = day[order_sort]
        self.order_seconds = rng.integers(7 * 3600, 23 * 3600, size.orders)
        self.order_draft = rng.random(size.orders) < 0.04
        seasonal_book = self.book_of_day[self.order_day]
        self.order_book = np.where((seasonal_book > 0) & (rng.random(size.orders) < 0.8), seasonal_book, 0)
        basket = lat.basket[self.order_account] if self.latent else np.full(size.orders, 2.2)
        counts = 1 + np.minimum(rng.poisson(basket - 1.0), 5)
        item_order = np.repeat(np.arange(size.orders), counts)
        month = _MONTH_OF_DAY[self.order_day[item_order]]
        n = len(item_order)
        months = np.arange(1, 13)
        if self.latent:
            season = seasonal_factor(lat.product_peak, lat.product_seasonality * 0.5, months)  # (P, 12)
        else:
            season = np.ones((len(self.products), 12))
        product = np.empty(n, dtype=np.int64)
        preferred = lat.preferred_category[self.order_account[item_order]]
        use_pref = (rng.random(n) < 0.5) if self.latent else np.zeros(n, dtype=bool)
        category = np.where(use_pref, preferred, -1)
        for c in range(-1, len(catalog.CATEGORIES)):
            mask_products = np.ones(len(self.products), bool) if c < 0 else self.product_category == c
            if not mask_products.any():
                mask_products = np.ones(len(self.products), bool)
            for m in months:
                sel = np.flatnonzero((category == c) & (month == m))
                if len(sel) == 0:
                    continue
                w = self.popularity * season[:, m - 1] * mask_products
                cdf = np.cumsum(w / w.sum())
                product[sel] = np.minimum(np.searchsorted(cdf, rng.random(len(sel))), len(cdf) - 1)
        keep = np.ones(n, dtype=bool)
        key = item_order * len(self.products) + product
        _, first = np.unique(key, return_index=True)
        keep[:] = False
        keep[first] = True
        self.item_order = item_order[keep]
        self.item_product = product[keep]
        self.item_qty = rng.choice([1, 1, 1, 1, 1, 1, 1, 2, 2, 3], size=int(keep.sum())).astype(np.int64)

    # cases: which items, when, which issue, who, how long
    def _plan_cases(self, rng: np.random.Generator) -> None:
        size, lat = self.size, self.latents
        n_items = len(self.item_order)
        delay = 1 + np.floor(rng.exponential(12.0, n_items)).astype(np.int64)
        case_day = self.order_day[self.item_order] + delay
        valid = (case_day < DAYS) & ~self.order_draft[self.item_order]
        month = _MONTH_OF_DAY[np.minimum(case_day, DAYS - 1)]
        account = self.order_account[self.item_order]
        if self.latent:
            season = seasonal_factor(lat.product_peak, lat.product_seasonality * 0.5, np.arange(1, 13))
            weight = lat.propensity[account] * season[self.item_product, month - 1]
        else:
            weight = np.ones(n_items)
        weight = np.where(valid, weight, 0.0)
        chosen = _weighted_sample(rng, weight, size.cases)
        created = case_day[chosen] * 86400 + rng.integers(7 * 3600, 23 * 3600, len(chosen))
        order = np.lexsort((chosen, created))
        self.case_item = chosen[order]
        self.case_created = created[order]  # seconds since START
        n = len(self.case_item)
        product = self.item_product[self.case_item]
        account = self.order_account[self.item_order[self.case_item]]
        cmonth = _MONTH_OF_DAY[self.case_created // 86400]
        self.case_issue = self._draw_issues(rng, product, cmonth)
        self.case_account = account
        owners, transfers = self._route(rng, self.case_issue, product)
        self.case_owners = owners  # (n, 3) owner chain, -1 padded
        self.case_transfers = transfers
        final = owners[np.arange(n), transfers]
        self.case_owner = final
        skill = lat.skill[final] if self.latent else np.zeros(n)
        speed = lat.region_speed[self.cust_state[account]] if self.latent else np.ones(n)
        hours = np.exp(np.log(18.0) - 0.5 * skill + np.log(speed) + 0.25 * transfers + rng.normal(0, 0.6, n))
        seconds = np.clip(np.round(hours * 3600), 2700, 45 * 86400).astype(np.int64)
        closed = self.case_created + seconds
        end = int((END - START).total_seconds())
        # The backlog at the end of the span: most cases of the last days are still open, fewer of
        # each older week, and a few cases of the last year are stuck (escalated).
        age_days = (end - self.case_created) / 86400
        p_open = np.where(age_days < 150, 0.95 * np.exp(-age_days / 45), np.where(age_days < 365, 0.04, 0.0))
        is_open = (closed > end) | (rng.random(n) < p_open)
        self.case_closed = np.where(is_open, -1, closed)
        self.case_origin = self._channels(account, rng.random(n))
        self.case_priority_roll = rng.random(n)
        self.case_open_status = rng.integers(0, 2, n)
        tone_roll = rng.random(n)
        if self.latent:
            prop = lat.propensity[account]
            self.case_tone = np.where(prop < 0.8, 0, np.where(prop < 1.6, 1, 2))
        else:
            self.case_tone = np.floor(tone_roll * 3).astype(np.int64)
        self.case_assign_delay = rng.integers(60, 1800, n)
        self.case_transfer_at = np.sort(rng.uniform(0.1, 0.7, (n, 2)), axis=1)
        # policy sample: closed cases with an email or chat channel
        eligible = np.flatnonzero((self.case_closed >= 0) & (self.case_origin != 2))
        n_policy = min(len(eligible), max(30, round(0.04 * n)))
        picked = np.sort(rng.choice(eligible, size=n_policy, replace=False)) if n_policy else np.array([], int)
        n_rules = 12
        violated = np.where(rng.random(n_policy) < 0.3, -1, rng.integers(0, n_rules, n_policy))
        self.policy_case = dict(zip(picked.tolist(), violated.tolist(), strict=True))

    def _channels(self, account: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Each case's origin (0 Email, 1 Web, 2 Phone, 3 Chat) from its customer's voice: casual
        writers chat, detailed writers email, terse ones call or use the web form."""
        weight = np.tile(np.array(CHANNEL_MIX), (len(account), 1))
        weight[self.cust_casual[account]] *= CASUAL_CHANNELS
        detail = self.cust_detail[account]
        weight[detail == 0] *= TERSE_CHANNELS
        weight[detail == 2] *= DETAILED_CHANNELS
        cdf = np.cumsum(weight, axis=1)
        return np.minimum((cdf / cdf[:, -1:] <= u[:, None]).sum(axis=1), 3)

    def _draw_issues(self, rng: np.random.Generator, product: np.ndarray, month: np.ndarray) -> np.ndarray:
        lat = self.latents
        n_issues = len(ISSUES)
        if self.latent:
            base = lat.issue_weights  # (P, I)
            season = seasonal_factor(lat.issue_peak, lat.issue_seasonality, np.arange(1, 13))  # (I, 12)
        else:
            base = (lat.issue_weights > 0).astype(float)
            season = np.ones((n_issues, 12))
        issue = np.empty(len(product), dtype=np.int64)
        u = rng.random(len(product))
        pair = product * 12 + (month - 1)
        order = np.argsort(pair, kind="stable")
        bounds = np.flatnonzero(np.diff(pair[order])) + 1
        for group in np.split(order, bounds):
            if len(group) == 0:
                continue
            p, m = divmod(int(pair[group[0]]), 12)
            w = base[p] * season[:, m]
            cdf = np.cumsum(w / w.sum())
            issue[group] = np.minimum(np.searchsorted(cdf, u[group]), n_issues - 1)
        return issue

    def _route(self, rng: np.random.Generator, issue: np.ndarray, product: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Owner chain per case: first owner by expertise, transfers by skill, targets by expertise."""
        lat, n, agents = self.latents, len(issue), self.size.agents
        pair = issue * len(self.products) + product
        order = np.argsort(pair, kind="stable")
        bounds = np.flatnonzero(np.diff(pair[order])) + 1
        u = rng.random((n, 3))
        owners = np.full((n, 3), -1, dtype=np.int64)
        for group in np.split(order, bounds):
            if len(group) == 0:
                continue
            i, p = divmod(int(pair[group[0]]), len(self.products))
            if self.latent:
                w = np.exp(4.0 * lat.expertise_issue[:, i] + 2.0 * lat.expertise_product[:, p])
            else:
                w = np.ones(agents)
            cdf = np.cumsum(w / w.sum())
            for k in range(3):
                owners[group, k] = np.minimum(np.searchsorted(cdf, u[group, k]), agents - 1)
        first = owners[:, 0]
        if self.latent:
            mean_exp = lat.expertise_issue.mean()
            logit = -1.5 - 0.9 * lat.skill[first] - 1.5 * (lat.expertise_issue[first, issue] - mean_exp)
            p_transfer = 1.0 / (1.0 + np.exp(-logit))
        else:
            p_transfer = np.full(n, 0.2)
        transfers = (rng.random(n) < p_transfer).astype(np.int64)
        transfers += (transfers == 1) & (rng.random(n) < 0.25)
        for k in (1, 2):  # a transfer goes to someone else than the current owner
            same = owners[:, k] == owners[:, k - 1]
            owners[same, k] = (owners[same, k - 1] + 1 + rng.integers(0, agents - 1, int(same.sum()))) % agents
            owners[transfers < k, k] = -1
        return owners, transfers

    def _plan_voices(self, rng: np.random.Generator) -> None:
        """How each customer writes: detail grows with basket size, a casual style, a typo rate."""
        n = self.size.customers
        basket = self.latents.basket if self.latent else 1.0 + rng.gamma(2.0, 0.6, n)
        self.cust_detail = np.digitize(basket + rng.normal(0, 0.4, n), [1.9, 2.9])
        self.cust_casual = rng.random(n) < 0.3
        self.cust_typos = np.round(rng.uniform(0.0, 0.25, n), 2)

    def voice(self, case: int) -> Voice:
        """The voice of a case's customer, in the case's tone."""
        c = int(self.case_account[case])
        return Voice(
            tone=int(self.case_tone[case]),
            detail=int(self.cust_detail[c]),
            casual=bool(self.cust_casual[c]),
            typos=float(self.cust_typos[c]),
        )

    def _plan_knowledge(self, rng: random.Random) -> None:
        self.policies = knowledge.policies(self.facts)
        articles = knowledge.policy_articles(self.facts, random.Random(f"{self.seed}:policies"))
        room = self.size.articles - len(articles)
        general = knowledge.general_faqs(self.facts, random.Random(f"{self.seed}:faqs"))
        n_general = min(len(general), max(14, room // 4))
        articles += general[:n_general]
        trouble = knowledge.troubleshooting_articles(self.facts)[: room // 8]
        articles += trouble
        guides = sorted(range(len(self.products)), key=lambda p: -self.popularity[p])[: room - n_general - len(trouble)]
        families: dict[int, str] = {}
        for p in guides:
            guide_text = random.Random(f"{self.seed}:guide:{p}")  # its own stream: the article order stays put
            articles.append(knowledge.product_guide(guide_text, self.facts, self.products[p]))
            families[id(articles[-1])] = self.products[p].kind.family
        rng.shuffle(articles)
        self.articles = articles
        self.article_families = [families.get(id(a)) for a in articles]  # the guides' product families
        self.policy_article = {a.policy_key: i for i, a in enumerate(articles) if a.policy_key}


def _weighted_sample(rng: np.random.Generator, weight: np.ndarray, k: int) -> np.ndarray:
    """k indices drawn ∝ weight, without replacement while possible (Efraimidis–Spirakis)."""
    positive = np.flatnonzero(weight > 0)
    if len(positive) == 0:
        raise UserFacingError("the org has no order items a case could be about; use more orders")
    keys = np.log(rng.random(len(positive))) / weight[positive]
    take = min(k, len(positive))
    best = positive[np.argpartition(-keys, take - 1)[:take]] if take < len(positive) else positive
    if k > take:
        p = weight[positive] / weight[positive].sum()
        best = np.concatenate([best, rng.choice(positive, size=k - take, p=p)])
    return np.sort(best)


# --- writing ---------------------------------------------------------------------------------


def _copy_rows(conn: Connection, table: Table, rows: list[Row]) -> None:
    """Load rows into a PostgreSQL table with COPY, inside the connection's transaction."""
    import psycopg
    from psycopg import sql

    columns = list(rows[0])
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    try:
        with conn.connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
    except psycopg.Error as exc:
        message = first_line(exc) or type(exc).__name__
        raise UserFacingError(f"database error while loading {table.name}: {message}") from None


_FORKED_WRITER: _OrgWriter | None = None
"""The writer whose case batches forked workers draw (set before the workers are forked)."""


def _forked_case_batch(lo: int) -> CaseBatch:
    assert _FORKED_WRITER is not None
    return _FORKED_WRITER._case_batch(lo)


def _insert_rows(conn: Connection, table: Table, rows: list[Row]) -> None:
    """Insert rows (all with the keys of the first) with one driver-level executemany.

    Values go through the bind processors SQLAlchemy would apply (datetimes and booleans are
    stored as they would be through ``insert()``), without its per-row parameter handling.
    """
    dialect = conn.dialect
    compiled = insert(table).compile(dialect=dialect, column_keys=list(rows[0]))
    columns = list(compiled.positiontup or ())
    processors = [(i, table.c[c].type.dialect_impl(dialect).bind_processor(dialect)) for i, c in enumerate(columns)]
    processors = [(i, p) for i, p in processors if p is not None]
    values = itemgetter(*columns) if len(columns) > 1 else (lambda row: (row[columns[0]],))
    params: list[tuple[Any, ...]] = []
    for row in rows:
        record = values(row)
        if processors:
            record = list(record)
            for i, process in processors:
                record[i] = process(record[i])
            record = tuple(record)
        params.append(record)
    conn.exec_driver_sql(compiled.string, params)


def _chat_timing(talk: texts.Chat, owner_times: list[int], stop_s: int, window: tuple[int, int]) -> tuple[int, float]:
    """Start second and time scale of a chat inside the case's open time; a chat with a transfer
    is placed so that its transfer line falls exactly on the case history's last transfer."""
    if talk.transfer_at is None:
        start = window[0] + (window[1] - window[0]) // 10
        return start, min(1.0, (stop_s - start) / max(1, talk.seconds))
    moment, previous = owner_times[-1], owner_times[-2]
    before, after = talk.transfer_at, talk.seconds - talk.transfer_at
    scale = min(1.0, (moment - previous) / max(1, before), (stop_s - moment) / max(1, after))
    return moment - int(before * scale), scale


def _ts(seconds: int) -> dt.datetime:
    return START + dt.timedelta(seconds=int(seconds))


def _alnum(value: str) -> str:
    return re.sub(r"[^a-z0-9]", "", value.lower())


class _OrgWriter:
    """Turns an :class:`OrgPlan` into rows and inserts them, stage by stage."""

    def __init__(self, engine: Engine, plan: OrgPlan, progress: Progress, workers: int = 1) -> None:
        self.engine = engine
        self.plan = plan
        self.progress = progress
        self.workers = workers
        self.tables = {t.name: t for t in org_tables()}
        self.user_ids = make_ids("User", range(plan.size.agents))
        self.product_ids = make_ids("Product2", range(len(plan.products)))
        self.issue_ids = make_ids("Issue__c", range(len(ISSUES)))
        self.book_ids = make_ids("Pricebook2", range(1 + len(plan.books)))
        self.entry_ids = make_ids("PricebookEntry", range((1 + len(plan.books)) * len(plan.products)))

    def write(self) -> None:
        # PostgreSQL: foreign keys are added after the load (validated in bulk, not per row) and
        # rows are loaded with COPY; SQLite declares them inline and turns their checks off.
        postgres = not is_sqlite(str(self.engine.url))
        with self.engine.begin() as conn:
            for table in org_tables():
                conn.execute(CreateTable(table, include_foreign_key_constraints=[] if postgres else None))
        stages: list[tuple[str, Callable[[], Iterator[tuple[str, list[Row]]]], int]] = [
            ("catalog", self._catalog, len(self.plan.products)),
            ("people", self._people, self.plan.size.customers),
            ("orders", self._orders, len(self.plan.order_day)),
            ("cases", self._cases, len(self.plan.case_item)),
            ("knowledge", self._knowledge, len(self.plan.articles)),
            ("latent", self._latent, 1),
        ]
        with self.engine.connect() as conn:
            if is_sqlite(str(self.engine.url)):
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                conn.commit()
            for stage, rows_of, total in stages:
                self.progress(stage, 0, total)
                with conn.begin():
                    self._insert_stream(conn, stage, rows_of(), total)
                self.progress(stage, total, total)
            self.progress("indexes", 0, len(self.tables))
            with conn.begin():
                for done, table in enumerate(self.tables.values(), start=1):
                    for index in sorted(table.indexes, key=lambda ix: ix.name or ""):
                        index.create(conn)
                    if postgres:
                        for constraint in sorted(table.foreign_key_constraints, key=lambda fk: fk.name or ""):
                            conn.execute(AddConstraint(constraint))
                    self.progress("indexes", done, len(self.tables))

    def _insert_stream(
        self, conn: Connection, stage: str, batches: Iterable[tuple[str, list[Row]]], total: int
    ) -> None:
        for table_name, rows in batches:
            if table_name.startswith("__progress__"):
                self.progress(stage, int(table_name.split(":")[1]), total)
                continue
            if not rows:
                continue
            if conn.dialect.name == "postgresql":
                _copy_rows(conn, self.tables[table_name], rows)
            else:
                _insert_rows(conn, self.tables[table_name], rows)

    # catalog: issues, categories, products, price books
    def _catalog(self) -> Iterator[tuple[str, list[Row]]]:
        plan = self.plan
        yield (
            "Issue__c",
            [
                {
                    "Id": make_id("Issue__c", i),
                    "Name": issue.name,
                    "Description__c": issue.description,
                    "CreatedDate": START,
                    "LastModifiedDate": START,
                }
                for i, issue in enumerate(ISSUES)
            ],
        )
        categories = [*catalog.CATEGORIES, "Best Sellers"]
        yield (
            "ProductCategory",
            [
                {"Id": make_id("ProductCategory", c), "Name": name, "CreatedDate": START, "LastModifiedDate": START}
                for c, name in enumerate(categories)
            ],
        )
        yield (
            "Product2",
            [
                {
                    "Id": make_id("Product2", p),
                    "Name": info.name,
                    "Description": plan.descriptions[p],
                    "Family": info.kind.family,
                    "IsActive": bool(plan.active[p]),
                    "ProductCode": info.code,
                    "CreatedDate": START + dt.timedelta(hours=p),
                    "LastModifiedDate": START + dt.timedelta(hours=p),
                }
                for p, info in enumerate(plan.products)
            ],
        )
        memberships = [(int(plan.product_category[p]), p) for p in range(len(plan.products))]
        best = np.argsort(-plan.popularity, kind="stable")[: max(3, len(plan.products) // 10)]
        memberships += [(len(categories) - 1, int(p)) for p in sorted(best.tolist())]
        yield (
            "ProductCategoryProduct",
            [
                {
                    "Id": make_id("ProductCategoryProduct", m),
                    "ProductCategoryId": make_id("ProductCategory", c),
                    "ProductId": make_id("Product2", p),
                    "CreatedDate": START + dt.timedelta(hours=p),
                    "LastModifiedDate": START + dt.timedelta(hours=p),
                }
                for m, (c, p) in enumerate(memberships)
            ],
        )
        books = [
            {
                "Id": make_id("Pricebook2", 0),
                "Name": "Standard Price Book",
                "Description": "List prices of every product.",
                "IsActive": True,
                "IsStandard": True,
                "ValidFrom": None,
                "ValidTo": None,
                "CreatedDate": START,
                "LastModifiedDate": START,
            }
        ]
        for b, book in enumerate(plan.books, start=1):
            created = max(START, book.start - dt.timedelta(days=14))
            books.append(
                {
                    "Id": make_id("Pricebook2", b),
                    "Name": book.name,
                    "Description": book.description,
                    "IsActive": book.end > END,
                    "IsStandard": False,
                    "ValidFrom": book.start,
                    "ValidTo": book.end - dt.timedelta(seconds=1),
                    "CreatedDate": created,
                    # a book that ran out was deactivated at its end: its last change
                    "LastModifiedDate": book.end if book.end <= END else created,
                }
            )
        yield "Pricebook2", books
        n_products = len(plan.products)
        entries = []
        for b, book in enumerate(books):
            for p in range(n_products):
                entries.append(
                    {
                        "Id": make_id("PricebookEntry", b * n_products + p),
                        "Pricebook2Id": book["Id"],
                        "Product2Id": make_id("Product2", p),
                        "UnitPrice": float(plan.prices[b, p]),
                        "IsActive": True,
                        "CreatedDate": book["CreatedDate"],
                        "LastModifiedDate": book["CreatedDate"],
                    }
                )
        yield "PricebookEntry", entries

    # people: agents, customer accounts and their contacts
    def _agent(self, a: int) -> tuple[str, str, str]:
        plan = self.plan
        first = plan.first_names[plan.agent_first[a]]
        last = plan.last_names[plan.agent_last[a]]
        return first, last, f"{_alnum(first)}.{_alnum(last)}{a + 1}@{catalog.EMAIL_DOMAIN}"

    def _customer(self, c: int) -> tuple[str, str, str]:
        plan = self.plan
        first = plan.first_names[plan.cust_first[c]]
        last = plan.last_names[plan.cust_last[c]]
        return first, last, f"{_alnum(first)[:1]}{_alnum(last)}{c + 1}@{_FREE_MAIL[plan.cust_mail[c]]}"

    def _phone(self, rng: random.Random) -> str:
        return f"({rng.randint(201, 989)}) 555-{rng.randint(0, 9999):04d}"

    def _people(self) -> Iterator[tuple[str, list[Row]]]:
        plan = self.plan
        rng = random.Random(f"{plan.seed}:people")
        users = []
        for a in range(plan.size.agents):
            first, last, email = self._agent(a)
            users.append(
                {
                    "Id": make_id("User", a),
                    "Name": f"{first} {last}",
                    "FirstName": first,
                    "LastName": last,
                    "Email": email,
                    "Phone": self._phone(rng),
                    "Username": email,
                    "Alias": (first[:1] + _alnum(last))[:8].lower(),
                    "TimeZoneSidKey": catalog.TIME_ZONES[plan.agent_tz[a]],
                    "IsActive": True,
                    "CreatedDate": START,
                    "LastModifiedDate": START,
                }
            )
        yield "User", users
        first_order = np.full(plan.size.customers, DAYS, dtype=np.int64)
        np.minimum.at(first_order, plan.order_account, plan.order_day)
        # customers sign up about a month before their first order (before 7 a.m. of its day at the latest)
        customers = np.arange(plan.size.customers)
        first_order = np.where(first_order < DAYS, first_order, customers * 7919 % DAYS)
        created_s = np.maximum(customers % 3600, (first_order - 30) * 86400 + 3600 + customers % 36000)
        for lo in range(0, plan.size.customers, BATCH):
            accounts, contacts = [], []
            hi = min(lo + BATCH, plan.size.customers)
            account_ids = make_ids("Account", range(lo, hi))
            contact_ids = make_ids("Contact", range(lo, hi))
            for c in range(lo, hi):
                first, last, email = self._customer(c)
                code, _, cities, _ = STATES[plan.cust_state[c]]
                created = _ts(int(created_s[c]))
                phone = self._phone(rng)
                account_id = account_ids[c - lo]
                accounts.append(
                    {
                        "Id": account_id,
                        "Name": f"{first} {last}",
                        "FirstName": first,
                        "LastName": last,
                        "PersonEmail": email,
                        "Phone": phone,
                        "ShippingStreet": plan.streets[plan.cust_street[c]],
                        "ShippingCity": cities[plan.cust_city[c] % len(cities)],
                        "ShippingState": code,
                        "ShippingPostalCode": plan.zips[code][plan.cust_zip[c]],
                        "ShippingCountry": "United States",
                        "CreatedDate": created,
                        "LastModifiedDate": created,
                    }
                )
                contacts.append(
                    {
                        "Id": contact_ids[c - lo],
                        "Name": f"{first} {last}",
                        "FirstName": first,
                        "LastName": last,
                        "Email": email,
                        "Phone": phone,
                        "AccountId": account_id,
                        "OwnerId": self.user_ids[plan.cust_owner[c]],
                        "CreatedDate": created,
                        "LastModifiedDate": created,
                    }
                )
            yield "Account", accounts
            yield "Contact", contacts
            yield f"__progress__:{min(lo + BATCH, plan.size.customers)}", []

    def _order_created(self, o: int) -> dt.datetime:
        plan = self.plan
        return _ts(int(plan.order_day[o]) * 86400 + int(plan.order_seconds[o]))

    def _orders(self) -> Iterator[tuple[str, list[Row]]]:
        plan = self.plan
        n_products = len(plan.products)
        n_orders = len(plan.order_day)
        item_start = np.searchsorted(plan.item_order, np.arange(n_orders + 1))
        for lo in range(0, n_orders, BATCH):
            orders, items = [], []
            hi = min(lo + BATCH, n_orders)
            order_ids = make_ids("Order", range(lo, hi))
            account_ids = make_ids("Account", plan.order_account[lo:hi])
            item_lo = int(item_start[lo])
            item_ids = make_ids("OrderItem", range(item_lo, int(item_start[hi])))
            for o in range(lo, hi):
                order_id = order_ids[o - lo]
                book = int(plan.order_book[o])
                created = self._order_created(o)
                orders.append(
                    {
                        "Id": order_id,
                        "OrderNumber": f"{o + 100:08d}",
                        "AccountId": account_ids[o - lo],
                        "Pricebook2Id": self.book_ids[book],
                        "Status": "Draft" if plan.order_draft[o] else "Activated",
                        "EffectiveDate": _DAY_DATES[plan.order_day[o]],
                        "CreatedDate": created,
                        "LastModifiedDate": created,
                    }
                )
                for i in range(item_start[o], item_start[o + 1]):
                    p = int(plan.item_product[i])
                    items.append(
                        {
                            "Id": item_ids[i - item_lo],
                            "OrderItemNumber": f"{i + 1:010d}",
                            "OrderId": order_id,
                            "Product2Id": self.product_ids[p],
                            "PricebookEntryId": self.entry_ids[book * n_products + p],
                            "Quantity": float(plan.item_qty[i]),
                            "UnitPrice": float(plan.prices[book, p]),
                            "CreatedDate": created,
                            "LastModifiedDate": created,
                        }
                    )
            yield "Order", orders
            yield "OrderItem", items
            yield f"__progress__:{min(lo + BATCH, n_orders)}", []

    def _cases(self) -> Iterator[tuple[str, list[Row]]]:
        n = len(self.plan.case_item)
        first = {"CaseHistory__c": 0, "EmailMessage": 0, "LiveChatTranscript": 0}
        policy_rows: list[Row] = []
        for lo, (cases, history, emails, chats, policy) in zip(
            range(0, n, BATCH), self._case_batches(range(0, n, BATCH)), strict=True
        ):
            for number, row in enumerate(chats, start=first["LiveChatTranscript"] + 1):
                row["Name"] = f"{number:08d}"
            for name, rows in (("CaseHistory__c", history), ("EmailMessage", emails), ("LiveChatTranscript", chats)):
                for row, record_id in zip(
                    rows, make_ids(name, range(first[name], first[name] + len(rows))), strict=True
                ):
                    row["Id"] = record_id
                first[name] += len(rows)
            policy_rows += policy
            yield "Case", cases
            yield "CaseHistory__c", history
            yield "EmailMessage", emails
            yield "LiveChatTranscript", chats
            yield f"__progress__:{min(lo + BATCH, n)}", []
        self._policy_rows = policy_rows

    def _case_batches(self, starts: range) -> Iterator[CaseBatch]:
        """The batches of cases starting at `starts`, in order; over several processes when
        `workers` > 1 (forked, so they share the plan; at most two batches per worker in flight)."""
        if self.workers <= 1 or len(starts) <= 1:
            yield from map(self._case_batch, starts)
            return
        global _FORKED_WRITER
        _FORKED_WRITER = self
        pending: deque[Future[CaseBatch]] = deque()
        todo = iter(starts)
        with ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork")) as pool:
            for lo in itertools.islice(todo, 2 * self.workers):
                pending.append(pool.submit(_forked_case_batch, lo))
            while pending:
                batch = pending.popleft().result()
                for lo in itertools.islice(todo, 1):
                    pending.append(pool.submit(_forked_case_batch, lo))
                yield batch
        _FORKED_WRITER = None

    def _case_batch(self, lo: int) -> CaseBatch:
        """Rows of the cases from `lo` (one batch): cases, history, emails, chats (their Ids and
        chat Names are numbered by the caller) and policy-case rows. The first batch draws its
        text from the org's case stream, each later batch from a stream of its own, so batches
        can be drawn in any order or process."""
        plan = self.plan
        rng = random.Random(f"{plan.seed}:cases" if lo == 0 else f"{plan.seed}:cases:{lo}")
        n = len(plan.case_item)
        origins = ("Email", "Web", "Phone", "Chat")
        end = int((END - START).total_seconds())
        policy_rows: list[Row] = []
        cases, history, emails, chats = [], [], [], []
        hi = min(lo + BATCH, n)
        case_ids = make_ids("Case", range(lo, hi))
        account_ids = make_ids("Account", plan.case_account[lo:hi])
        contact_ids = make_ids("Contact", plan.case_account[lo:hi])
        item_ids = make_ids("OrderItem", plan.case_item[lo:hi])
        for k in range(lo, hi):
            item = int(plan.case_item[k])
            order = int(plan.item_order[item])
            product = plan.products[int(plan.item_product[item])]
            issue = ISSUES[int(plan.case_issue[k])]
            c = int(plan.case_account[k])
            transfers = int(plan.case_transfers[k])
            chain = [int(a) for a in plan.case_owners[k, : transfers + 1]]
            created_s = int(plan.case_created[k])
            closed_s = int(plan.case_closed[k])
            is_closed = closed_s >= 0
            stop_s = closed_s if is_closed else min(end, created_s + 7 * 86400)
            case_id = case_ids[k - lo]
            account_id, contact_id = account_ids[k - lo], contact_ids[k - lo]
            owner_id = self.user_ids[chain[-1]]
            if is_closed:
                status = "Closed"
            elif transfers:
                status = "Escalated"
            elif end - created_s > 21 * 86400 and plan.case_open_status[k] == 1:
                status = "Escalated"  # open for weeks
            elif end - created_s < 86400 or (end - created_s < 4 * 86400 and plan.case_open_status[k] == 0):
                status = "New"
            else:
                status = "Working"
            roll = float(plan.case_priority_roll[k])
            priority = issue.priority if roll < 0.7 else ("Low", "Medium", "High")[int(roll * 10) % 3]
            order_number = f"{order + 100:08d}"
            phrasing = texts.phrasing(issue.key, product.kind.family)
            voice = plan.voice(k)
            customer_first, customer_last, customer_email = self._customer(c)
            agent_first, agent_last, agent_email = self._agent(chain[-1])
            cities = STATES[plan.cust_state[c]][2]
            facts = texts.CaseFacts(
                product=product.name,
                issue=phrasing,
                order=order_number,
                customer=customer_first,
                agent=f"{agent_first} {agent_last}",
                color=product.color,
                material=product.material,
                use=product.use,
                city=cities[plan.cust_city[c] % len(cities)],
                price=f"${plan.prices[plan.order_book[order], plan.item_product[item]]:,.2f}",
                warranty=plan.facts.warranty[product.kind.family],
            )
            subject = texts.subject(rng, facts, voice=voice)
            cases.append(
                {
                    "Id": case_id,
                    "CaseNumber": f"{k + 1:08d}",
                    "Subject": subject,
                    "Description": texts.description(rng, facts, voice=voice),
                    "Status": status,
                    "Priority": priority,
                    "Origin": origins[int(plan.case_origin[k])],
                    "AccountId": account_id,
                    "ContactId": contact_id,
                    "OwnerId": owner_id,
                    "OrderItemId__c": item_ids[k - lo],
                    "IssueId__c": self.issue_ids[plan.case_issue[k]],
                    "CreatedDate": _ts(created_s),
                    "LastModifiedDate": None,  # its last history row's time, set below
                    "ClosedDate": _ts(closed_s) if is_closed else None,
                }
            )
            # audit trail
            steps = [("Case Creation", None, None, created_s)]
            assign_s = created_s + int(plan.case_assign_delay[k])
            steps.append(("Owner Assignment", None, self.user_ids[chain[0]], assign_s))
            owner_times = [assign_s]
            span = stop_s - assign_s
            at = assign_s
            for t in range(1, transfers + 1):
                at = max(at + 1, assign_s + int(span * float(plan.case_transfer_at[k, t - 1])))
                steps.append(("Owner Assignment", self.user_ids[chain[t - 1]], self.user_ids[chain[t]], at))
                owner_times.append(at)
            if is_closed:
                steps.append(("Case Closed", None, None, closed_s))
            for field_name, old, new, at in steps:
                history.append(
                    {
                        "CaseId__c": case_id,
                        "Field__c": field_name,
                        "OldValue__c": old,
                        "NewValue__c": new,
                        "CreatedDate": _ts(at),
                        "LastModifiedDate": _ts(at),
                    }
                )
            cases[-1]["LastModifiedDate"] = _ts(max(step[3] for step in steps))
            # conversation
            origin = origins[int(plan.case_origin[k])]
            if origin == "Phone":
                continue
            window = (assign_s, stop_s)
            violated = plan.policy_case.get(k)
            pairs = None
            if violated is not None:
                policy = plan.policies[violated] if violated >= 0 else None
                pairs = texts.policy_exchange(rng, plan.policies, policy)
                article = make_id("Knowledge__kav", plan.policy_article[policy.key]) if policy else None
                policy_rows.append(
                    {
                        "case_id": case_id,
                        "violated_article_id": article,
                        "channel": "chat" if origin == "Chat" else "email",
                    }
                )
            if origin == "Chat":
                before = " ".join(self._agent(chain[-2])[:2]) if transfers else None
                talk = texts.chat(rng, facts=facts, voice=voice, pairs=pairs, transfer_from=before)
                start, scale = _chat_timing(talk, owner_times, stop_s, window)
                chats.append(
                    {
                        "CaseId": case_id,
                        "AccountId": account_id,
                        "ContactId": contact_id,
                        "OwnerId": owner_id,
                        "Body": talk.body(_ts(start), scale),
                        "StartTime": _ts(start),
                        "EndTime": _ts(start + int(talk.seconds * scale)),
                        "CreatedDate": _ts(start),
                        "LastModifiedDate": _ts(start + int(talk.seconds * scale)),  # saved when it ended
                    }
                )
                continue
            thread = texts.email_thread(rng, subject_line=subject, facts=facts, voice=voice, pairs=pairs)
            customer = (f"{customer_first} {customer_last}", customer_email)
            agent = (facts.agent, agent_email)
            previous: tuple[str, tuple[str, str], int] | None = None
            for m, message in enumerate(thread):
                at = created_s if m == 0 else window[0] + int((window[1] - window[0]) * message.at)
                sender, recipient = (customer, agent) if message.from_customer else (agent, customer)
                body = message.body
                if previous is not None:
                    body += "\n\n" + texts.quoted(previous[0], *previous[1], _ts(previous[2]))
                previous = (message.body, sender, at)
                emails.append(
                    {
                        "ParentId": case_id,
                        "Subject": message.subject,
                        "TextBody": body,
                        "FromAddress": sender[1],
                        "ToAddress": recipient[1],
                        "MessageDate": _ts(at),
                        "CreatedDate": _ts(at),
                        "LastModifiedDate": _ts(at),
                    }
                )
        return cases, history, emails, chats, policy_rows

    def _knowledge(self) -> Iterator[tuple[str, list[Row]]]:
        plan = self.plan
        rows, facts, categories = [], [], []
        for i, article in enumerate(plan.articles):
            article_id = make_id("Knowledge__kav", i)
            rows.append(
                {
                    "Id": article_id,
                    "ArticleNumber": f"{1000 + i:09d}",
                    "Title": article.title,
                    "Summary": article.summary,
                    "UrlName": article.url_name,
                    "FAQ_Answer__c": article.body,
                    "PublishStatus": "Online",
                    "Language": "en_US",
                    "CreatedDate": START + dt.timedelta(days=i % 90, hours=9),
                    "LastModifiedDate": START + dt.timedelta(days=i % 90, hours=9),
                }
            )
            for position, (question, answer) in enumerate(article.facts):
                facts.append({"article_id": article_id, "position": position, "question": question, "answer": answer})
            categories.extend(
                {"article_id": article_id, "group_name": group, "category_name": category}
                for group, category in article_categories(article.kind, plan.article_families[i])
            )
        yield "Knowledge__kav", rows
        yield "article_data_category", categories
        yield "latent_article_fact", facts
        yield "latent_case_policy", self._policy_rows

    def _latent(self) -> Iterator[tuple[str, list[Row]]]:
        plan, lat = self.plan, self.plan.latents
        yield (
            "latent_agent",
            [{"user_id": make_id("User", a), "skill": _r(lat.skill[a])} for a in range(plan.size.agents)],
        )
        expertise = []
        for a in range(plan.size.agents):
            user = make_id("User", a)
            expertise += [
                {"user_id": user, "subject_id": make_id("Issue__c", i), "expertise": _r(lat.expertise_issue[a, i])}
                for i in range(len(ISSUES))
            ]
            expertise += [
                {"user_id": user, "subject_id": make_id("Product2", p), "expertise": _r(lat.expertise_product[a, p])}
                for p in range(len(plan.products))
            ]
        yield "latent_agent_expertise", expertise
        seasons = ("Spring", "Summer", "Fall", "Winter")
        categories = len(catalog.CATEGORIES)
        for lo in range(0, plan.size.customers, BATCH):
            account_ids = make_ids("Account", range(lo, min(lo + BATCH, plan.size.customers)))
            yield (
                "latent_customer",
                [
                    {
                        "account_id": account_ids[c - lo],
                        "complaint_propensity": _r(lat.propensity[c]),
                        "order_rate": _r(lat.order_rate[c]),
                        "basket_size": _r(lat.basket[c]),
                        "preferred_category_id": make_id(
                            "ProductCategory", int(lat.preferred_category[c]) % categories
                        ),
                        "preferred_season": seasons[int(lat.preferred_season[c])],
                    }
                    for c in range(lo, min(lo + BATCH, plan.size.customers))
                ],
            )
        yield (
            "latent_product",
            [
                {
                    "product_id": make_id("Product2", p),
                    "top_issue_id": make_id("Issue__c", int(lat.top_issue[p])),
                    "issue_weights": json.dumps(
                        {
                            make_id("Issue__c", i): _r(lat.issue_weights[p, i])
                            for i in range(len(ISSUES))
                            if lat.issue_weights[p, i] > 0
                        }
                    ),
                    "peak_month": int(lat.product_peak[p]),
                    "seasonality": _r(lat.product_seasonality[p]),
                }
                for p in range(len(plan.products))
            ],
        )
        yield (
            "latent_issue",
            [
                {
                    "issue_id": make_id("Issue__c", i),
                    "peak_month": int(lat.issue_peak[i]),
                    "seasonality": _r(lat.issue_seasonality[i]),
                }
                for i in range(len(ISSUES))
            ],
        )
        yield (
            "latent_region",
            [{"state": code, "speed": _r(lat.region_speed[s])} for s, (code, *_) in enumerate(STATES)],
        )
        info = {
            "seed": str(plan.seed),
            "scale": plan.size.name,
            "latent": "true" if plan.latent else "false",
            "generator_version": GENERATOR_VERSION,
            "scale_counts": plan.size.model_dump_json(),
            "company_facts": json.dumps(plan.facts.__dict__, sort_keys=True),
        }
        yield "org_info", [{"key": k, "value": v} for k, v in sorted(info.items())]


def _r(value: float) -> float:
    """Round a latent value so it reads well and survives every database identically."""
    return round(float(value), 6)
