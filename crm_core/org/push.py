"""``org push``: load the org into a Salesforce org through Bulk API 2.0 ingest jobs.

Objects go parents first (:func:`push_order`), each in batches of records ordered by ``Id``;
each batch is one insert job (create, upload the CSV, ``UploadComplete``, poll, read
``successfulResults`` and ``failedResults``). Fields the platform sets (ids, ``CreatedDate``,
auto-numbers, compound names, ``ClosedDate``) are not sent; references are sent as the target's
ids of the records they point at.

**Ids.** A result file echoes every uploaded value after ``sf__Id``, so each result row maps
back to the source record whose CSV row it repeats (records identical in every pushed field
are interchangeable, so any pairing of them is right). The target therefore needs no custom
external-id field.

**Resuming.** A local state file per target (SQLite) records each batch's job as soon as it
exists, whether it was closed, and, in the same transaction as the batch's end, the id map of
its records and its failures. A rerun with the same file skips finished batches; a job that
was open when the push stopped is aborted and its batch sent again (an open job writes
nothing); a closed job is waited for and its results read (so no record is created twice).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import sqlite3
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from simple_salesforce import Salesforce
from simple_salesforce.bulk2 import _Bulk2Client
from simple_salesforce.exceptions import SalesforceError, SalesforceOperationError
from sqlalchemy import Engine, func, select

from crm_core.errors import UserFacingError
from crm_core.org.metadata import ObjectDescribe, describe_org, is_platform_field
from crm_core.org.schema import MODEL_BY_OBJECT

DEFAULT_BATCH_SIZE = 10_000
"""Records per ingest job (Salesforce processes a job in internal chunks of 10,000)."""
API_VERSION = "59.0"
_POLL_SECONDS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)


# --- what is pushed -------------------------------------------------------------------------------


def push_order() -> list[ObjectDescribe]:
    """The org's objects, every object after the objects its references point at."""
    objects = describe_org()
    order: list[ObjectDescribe] = []
    placed: set[str] = set()
    pending = list(objects.values())
    while pending:
        ready = [
            obj
            for obj in pending
            if all(f.reference_to in placed or f.reference_to == obj.name for f in obj.fields if f.reference_to)
        ]
        if not ready:
            raise ValueError(f"references form a cycle among {[obj.name for obj in pending]}")
        order += ready
        placed |= {obj.name for obj in ready}
        pending = [obj for obj in pending if obj.name not in placed]
    return order


def pushed_fields(obj: ObjectDescribe) -> list[str]:
    """The fields sent for an object: every field but those the platform sets."""
    return [f.name for f in obj.fields if not is_platform_field(obj.name, f.name)]


def csv_value(value: Any) -> str:
    """A field value as Bulk API CSV text (empty for null)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# --- the state file -----------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS push_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
    object TEXT NOT NULL, number INTEGER NOT NULL, job_id TEXT, state TEXT NOT NULL,
    last_id TEXT, records INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (object, number)
);
CREATE TABLE IF NOT EXISTS id_map (source_id TEXT PRIMARY KEY, target_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS failures (object TEXT NOT NULL, source_id TEXT NOT NULL, error TEXT NOT NULL);
"""


class PushState:
    """The local record of one push into one target: batches, their jobs, the id map, failures."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def check_info(self, info: dict[str, str]) -> None:
        """Record what is pushed where; refuse a state file of another push."""
        known = dict(self.db.execute("SELECT key, value FROM push_info"))
        for key, value in info.items():
            if key in known and known[key] != value:
                raise UserFacingError(
                    f"the state file {self.path} belongs to another push ({key}: {known[key]!r}, now {value!r}); "
                    "give another --state file to start a new push"
                )
        self.db.executemany("INSERT OR IGNORE INTO push_info VALUES (?, ?)", info.items())

    def id_map(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT source_id, target_id FROM id_map"))

    def batch(self, object_name: str, number: int) -> tuple[str | None, str, str | None, int] | None:
        """(job id, state, last source id, records) of a batch, or None if it was never started."""
        return self.db.execute(
            "SELECT job_id, state, last_id, records FROM batches WHERE object = ? AND number = ?",
            (object_name, number),
        ).fetchone()

    def set_job(self, object_name: str, number: int, job_id: str | None, state: str) -> None:
        self.db.execute(
            "INSERT INTO batches (object, number, job_id, state) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (object, number) DO UPDATE SET job_id = excluded.job_id, state = excluded.state",
            (object_name, number, job_id, state),
        )

    def finish(self, object_name: str, number: int, last_id: str, outcome: BatchOutcome) -> None:
        """A batch's end, its ids and failures, in one transaction."""
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany("INSERT OR REPLACE INTO id_map VALUES (?, ?)", outcome.ids.items())
            self.db.executemany(
                "INSERT INTO failures VALUES (?, ?, ?)", [(object_name, s, e) for s, e in outcome.failures]
            )
            self.db.execute(
                "UPDATE batches SET state = 'done', last_id = ?, records = ?, created = ?, failed = ? "
                "WHERE object = ? AND number = ?",
                (last_id, outcome.records, len(outcome.ids), len(outcome.failures), object_name, number),
            )

    def totals(self, object_name: str) -> tuple[int, int, int, int]:
        """(jobs, records, created, failed) of an object's finished batches."""
        row = self.db.execute(
            "SELECT count(*), coalesce(sum(records), 0), coalesce(sum(created), 0), coalesce(sum(failed), 0) "
            "FROM batches WHERE object = ? AND state = 'done'",
            (object_name,),
        ).fetchone()
        return tuple(row)  # type: ignore[return-value]

    def first_error(self, object_name: str) -> str:
        row = self.db.execute("SELECT error FROM failures WHERE object = ? LIMIT 1", (object_name,)).fetchone()
        return row[0] if row else ""


def default_state_path(instance_url: str) -> Path:
    """``data/push/<host>.sqlite``: one state file per target."""
    host = re.sub(r"[^A-Za-z0-9.-]+", "_", instance_url.split("://", 1)[-1].strip("/"))
    return Path("data/push") / f"{host}.sqlite"


# --- talking to the target ------------------------------------------------------------------------


def connect(
    instance_url: str,
    *,
    session_id: str | None = None,
    username: str | None = None,
    password: str | None = None,
    client_id: str = "",
    client_secret: str = "",
    login_url: str | None = None,
    session: requests.Session | None = None,
    version: str = API_VERSION,
) -> Salesforce:
    """A simple-salesforce client on the target: a session id as is, or the OAuth password flow.

    The password flow posts to ``<login_url or instance_url>/services/oauth2/token`` (a My Domain
    URL, ``https://login.salesforce.com`` or ``https://test.salesforce.com``).
    """
    session = session or requests.Session()
    if session_id:
        return Salesforce(instance_url=instance_url, session_id=session_id, session=session, version=version)
    if not username or password is None:
        raise UserFacingError("give a session id (--session-id / $SF_SESSION_ID) or --username and $SF_PASSWORD")
    token_url = f"{(login_url or instance_url).rstrip('/')}/services/oauth2/token"
    form = {
        "grant_type": "password",
        "username": username,
        "password": password,
        "client_id": client_id,
        "client_secret": client_secret,
    }
    try:
        answer = session.post(token_url, data=form, timeout=60)
    except requests.RequestException as exc:
        raise UserFacingError(f"cannot reach {token_url}: {exc}") from None
    try:
        body = answer.json()
    except ValueError:
        body = {}
    if answer.status_code != 200 or "access_token" not in body:
        reason = body.get("error_description") or body.get("error") or answer.text[:200]
        raise UserFacingError(f"login to {token_url} failed ({answer.status_code}): {reason}")
    return Salesforce(
        instance_url=body.get("instance_url") or instance_url,
        session_id=body["access_token"],
        session=session,
        version=version,
    )


def missing_on_target(sf: Salesforce, objects: list[ObjectDescribe]) -> list[str]:
    """What the target lacks for the push, one line each: objects, fields, and fields the target
    requires on create that the org has no value for (such as a real org's ``User.ProfileId``)."""
    problems: list[str] = []
    for obj in objects:
        try:
            described = getattr(sf, obj.name).describe()
        except SalesforceError as exc:
            problems.append(f"{obj.name}: the target has no such object ({exc.status})")
            continue
        fields = described.get("fields", [])
        sent = {name.lower() for name in pushed_fields(obj)}
        names = {f["name"].lower() for f in fields}
        absent = [name for name in pushed_fields(obj) if name.lower() not in names]
        if absent:
            problems.append(f"{obj.name}: no field {', '.join(absent)}")
        required = [
            f["name"]
            for f in fields
            if f.get("createable") and not f.get("nillable") and not f.get("defaultedOnCreate")
            if f["name"].lower() not in sent and f.get("type") != "boolean"
        ]
        if required:
            problems.append(f"{obj.name}: the target requires {', '.join(required)}, which the org does not have")
    return problems


@dataclass
class BatchOutcome:
    """A finished batch: source id → target id of its created records, and its failures."""

    records: int
    ids: dict[str, str] = field(default_factory=dict)
    failures: list[tuple[str, str]] = field(default_factory=list)


def _read_csv(text: str) -> list[list[str]]:
    return [row for row in csv.reader(io.StringIO(text, newline="")) if row]


def _match(rows: list[tuple[str, list[str]]], successful: str, failed: str, job_error: str = "") -> BatchOutcome:
    """Pair each result row with the uploaded row it repeats (by value), hence with its source id."""
    waiting: dict[tuple[str, ...], deque[str]] = defaultdict(deque)
    for source_id, values in rows:
        waiting[tuple(values)].append(source_id)
    outcome = BatchOutcome(records=len(rows))
    unpaired: list[str] = []
    for line in _read_csv(successful)[1:]:
        queue = waiting.get(tuple(line[2:]))
        if queue:
            outcome.ids[queue.popleft()] = line[0]
        else:
            unpaired.append(line[0])
    for line in _read_csv(failed)[1:]:
        queue = waiting.get(tuple(line[2:]))
        if queue:
            outcome.failures.append((queue.popleft(), line[1]))
    left = [source_id for queue in waiting.values() for source_id in queue]
    if unpaired:  # the target changed a value in its echo: created, but which record is which is unknown
        reason = (
            f"created on the target (one of {', '.join(unpaired[:3])}...) but its result row differs from the upload"
        )
    else:  # neither succeeded nor failed: the job stopped before them
        reason = job_error or "not processed"
    outcome.failures += [(source_id, reason) for source_id in left]
    return outcome


class _Jobs:
    """The target's ingest jobs of one object, through simple-salesforce's Bulk API 2.0 client."""

    def __init__(self, sf: Salesforce, object_name: str) -> None:
        self.object_name = object_name
        self.client = _Bulk2Client(object_name, sf.bulk2_url, sf.bulk2.headers, sf.session)

    def create(self) -> str:
        return self.client.create_job("insert")["id"]

    def upload_and_close(self, job_id: str, data: str) -> None:
        self.client.upload_job_data(job_id, data)
        self.client.close_job(job_id)

    def info(self, job_id: str) -> dict[str, Any]:
        return self.client.get_job(job_id, False)

    def abort(self, job_id: str) -> None:
        self.client.abort_job(job_id, False)

    def wait(self, job_id: str) -> dict[str, Any]:
        """The job's info once it has ended (JobComplete, Failed or Aborted)."""
        for attempt in range(1_000_000):
            info = self.info(job_id)
            if info["state"] in {"JobComplete", "Failed", "Aborted"}:
                return info
            time.sleep(_POLL_SECONDS[min(attempt, len(_POLL_SECONDS) - 1)])
        raise AssertionError("unreachable")

    def results(self, job_id: str, kind: str) -> str:
        return self.client.get_ingest_results(job_id, kind)


# --- the push -------------------------------------------------------------------------------------


@dataclass
class ObjectReport:
    """What the push did for one object (over every run of the same state file)."""

    object: str
    records: int
    created: int
    failed: int
    jobs: int
    first_error: str


ProgressCallback = Callable[[str, int, int], None]
"""Called with (object, records done, records in all) as batches finish."""


def _batches(engine: Engine, obj: ObjectDescribe, size: int, after: str | None) -> Iterator[list[dict[str, Any]]]:
    """The object's records ordered by Id, `size` at a time, starting after the Id `after`."""
    table = MODEL_BY_OBJECT[obj.name].__table__
    while True:
        query = select(table).order_by(table.c.Id).limit(size)
        if after is not None:
            query = query.where(table.c.Id > after)
        with engine.connect() as conn:
            rows = [dict(row) for row in conn.execute(query).mappings()]
        if not rows:
            return
        yield rows
        after = rows[-1]["Id"]


def _csv_rows(obj: ObjectDescribe, records: list[dict[str, Any]], ids: dict[str, str]) -> list[tuple[str, list[str]]]:
    """Each record's source id and CSV values (references as the target's ids; unknown ones empty)."""
    names = pushed_fields(obj)
    references = {f.name for f in obj.fields if f.reference_to}
    rows = []
    for record in records:
        values = [
            (ids.get(record[name], "") if name in references and record[name] else csv_value(record[name]))
            for name in names
        ]
        rows.append((record["Id"], values))
    return rows


def _csv_text(names: list[str], rows: list[tuple[str, list[str]]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    writer.writerows(values for _, values in rows)
    return out.getvalue()


def _run_batch(jobs: _Jobs, state: PushState, obj: ObjectDescribe, number: int, rows: list) -> BatchOutcome:
    """Send one batch (or pick up its job from an earlier run) and read its results."""
    started = state.batch(obj.name, number)
    job_id = started[0] if started else None
    if job_id is not None and started[1] == "open":
        try:
            if jobs.info(job_id)["state"] == "Open":
                jobs.abort(job_id)  # nothing of an open job was written: send the batch again
        except SalesforceError:
            pass  # the job is gone: it wrote nothing either
        job_id = None
    if job_id is None:
        job_id = jobs.create()
        state.set_job(obj.name, number, job_id, "open")
        jobs.upload_and_close(job_id, _csv_text(pushed_fields(obj), rows))
        state.set_job(obj.name, number, job_id, "closed")
    info = jobs.wait(job_id)
    if info["state"] != "JobComplete":
        state.set_job(obj.name, number, None, "failed")  # a rerun sends the batch again
        reason = info.get("errorMessage") or info["state"]
        raise UserFacingError(f"{obj.name} batch {number + 1}: job {job_id} ended {info['state']}: {reason}")
    return _match(rows, jobs.results(job_id, "successfulResults"), jobs.results(job_id, "failedResults"))


def push_org(
    engine: Engine,
    sf: Salesforce,
    state: PushState,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    users_as: str | None = None,
    progress: ProgressCallback | None = None,
) -> list[ObjectReport]:
    """Push the org behind `engine` into the target `sf`, resuming what `state` records.

    `users_as` (a target user's id) pushes no ``User`` records: every reference to one of the
    org's users points at that user instead (a real org's users need licences and profiles).
    """
    order = [obj for obj in push_order() if not (users_as and obj.name == "User")]
    with engine.connect() as conn:
        counts = {
            obj.name: conn.execute(select(func.count()).select_from(MODEL_BY_OBJECT[obj.name].__table__)).scalar_one()
            for obj in order
        }
    state.check_info(
        {
            "instance_url": sf.base_url.split("/services/")[0],
            "counts": json.dumps(counts),
            "batch_size": str(batch_size),
        }
    )
    missing = missing_on_target(sf, order)
    if missing:
        raise UserFacingError("the target org lacks what the push needs:\n  " + "\n  ".join(missing))
    ids = state.id_map()
    if users_as:
        with engine.connect() as conn:
            user_table = MODEL_BY_OBJECT["User"].__table__
            ids |= {user_id: users_as for user_id in conn.execute(select(user_table.c.Id)).scalars()}
    report = progress or (lambda _name, _done, _total: None)
    try:
        for obj in order:
            jobs = _Jobs(sf, obj.name)
            done, after, number = 0, None, 0
            while (recorded := state.batch(obj.name, number)) is not None and recorded[1] == "done":
                after, done, number = recorded[2], done + recorded[3], number + 1
            report(obj.name, done, counts[obj.name])
            for records in _batches(engine, obj, batch_size, after):
                rows = _csv_rows(obj, records, ids)
                outcome = _run_batch(jobs, state, obj, number, rows)
                state.finish(obj.name, number, records[-1]["Id"], outcome)
                ids |= outcome.ids
                done += len(records)
                number += 1
                report(obj.name, done, counts[obj.name])
    except (SalesforceError, SalesforceOperationError) as exc:
        raise UserFacingError(f"the target refused a request: {exc} (rerun the push to resume)") from None
    except requests.RequestException as exc:
        raise UserFacingError(f"the target could not be reached: {exc} (rerun the push to resume)") from None
    return [ObjectReport(obj.name, *_report_numbers(state, obj.name)) for obj in order]


def _report_numbers(state: PushState, object_name: str) -> tuple[int, int, int, int, str]:
    jobs, records, created, failed = state.totals(object_name)
    return records, created, failed, jobs, state.first_error(object_name)
