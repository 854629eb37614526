"""Database sources: rows pulled from another SQL database (PostgreSQL, MariaDB/MySQL), on
demand or on a schedule, through the same mapping, validation and staging as a file.

The connection URL is read from the environment variable the source names
(`BILLING_DB_URL=postgresql://patron@billing:5432/billing`), so no password is stored in
Patron's database. The source's query is a table name or one SELECT; Patron wraps it as
`SELECT * FROM (query) AS patron_src` and, when the source has a high-water column, reads only
the rows above the mark the previous sync reached, ordered by that column and a tie-breaker,
through a server-side cursor (constant memory however large the table).

A run reads the source's settings until it commits its first rows; from then on they are
pinned in `run.options["database"]` (the mark it started from is `run.high_water_mark`), so a
resumed run reads the same rows in the same order and skips the ones already committed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import decimal
import json
import os
import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import psycopg
import pymysql
import pymysql.cursors
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from patron.core import audit
from patron.core.permissions import may

from . import fields as fieldmod
from . import services
from .models import ImportRun, Mapping, Source
from .readers import BadRow, _unique_names

ALIAS = "patron_src"
WHITESPACE = ("", " ", "\t", "\n", "\r")
PREVIEW_ROWS = 10
FETCH_ROWS = 1000
CONNECT_TIMEOUT = 10
MARK_MAX_LENGTH = 100  # Source.high_water_mark and ImportRun.high_water_mark

SCHEMES = {
    "postgres": "postgresql",
    "postgresql": "postgresql",
    "postgresql+psycopg": "postgresql",
    "postgresql+psycopg2": "postgresql",
    "mysql": "mysql",
    "mysql+pymysql": "mysql",
    "mariadb": "mysql",
    "mariadb+pymysql": "mysql",
}
DRIVER_ERRORS = (psycopg.Error, pymysql.MySQLError)

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_IDENTIFIER = re.compile(r"[^\W\d][\w$]*")
_TABLE = re.compile(r"[^\W\d][\w$]*(?:\.[^\W\d][\w$]*)?")
_READ_START = re.compile(r"\(*\s*(select|with)\b", re.IGNORECASE)
# What turns a SELECT into a write or a lock: data-modifying WITH, SELECT … INTO (a table or a
# server file), FOR UPDATE, LOCK IN SHARE MODE. A column with such a name can still be read
# when it is quoted ("update").
_WRITES = re.compile(r"\b(insert|update|delete|merge|into|outfile|dumpfile|lock)\b", re.IGNORECASE)


# --- settings: what a source reads, checked before it runs -------------------------------------


@dataclasses.dataclass(frozen=True)
class ReadSettings:
    """A database source's reading settings, as one run uses them."""

    connection_env: str
    query: str
    high_water_column: str = ""
    start_mark: str = ""


def clean_query(text: str) -> str:
    """The source's query made safe to wrap: a table name (`customers`, `billing.customers`) or
    one read-only SELECT (or WITH … SELECT), without its trailing semicolon.

    The statement is checked as both PostgreSQL and MySQL read quotes and comments, so a quote
    one dialect escapes and the other does not cannot hide a second statement. The connection
    is read-only as well; this check is for a clear message, not the only defence.
    """
    query = (text or "").strip()
    if not query:
        raise ValidationError({"query": ["Give a table name or a SELECT statement."]})
    if _TABLE.fullmatch(query):
        return query
    for mysql in (False, True):
        code = _code_only(query, mysql=mysql)
        stripped = code.rstrip()
        if stripped.endswith(";"):
            # One trailing semicolon is allowed; drop it from the statement itself.
            cut = len(stripped) - 1
            query, code = query[:cut] + query[cut + 1 :], code[:cut] + " " + code[cut + 1 :]
        if ";" in code:
            raise ValidationError({"query": ["The query must be a single statement."]})
        if not _READ_START.match(code.lstrip()):
            raise ValidationError(
                {"query": ["The query must be a table name or a statement starting with SELECT."]}
            )
        write = _WRITES.search(code)
        if write:
            raise ValidationError(
                {"query": [f"The query may only read: '{write.group(1).upper()}' is not allowed."]}
            )
    return query.strip()


def _code_only(sql: str, *, mysql: bool) -> str:
    """`sql` with string literals, quoted identifiers and comments blanked out (same length), as
    PostgreSQL (`mysql=False`) or MySQL/MariaDB reads them."""
    out = list(sql)
    n = len(sql)
    i = 0

    def blank(start: int, end: int) -> None:
        for k in range(start, min(end, n)):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        ch, nxt = sql[i], sql[i + 1 : i + 2]
        dashes = ch == "-" and nxt == "-" and (not mysql or sql[i + 2 : i + 3] in WHITESPACE)
        if dashes or (ch == "#" and mysql):  # a comment to the end of the line
            end = sql.find("\n", i)
            end = n if end < 0 else end
            blank(i, end)
            i = end
        elif ch == "/" and nxt == "*":
            if mysql and sql[i + 2 : i + 3] in ("!", "+"):
                i += 3  # MySQL runs what an executable comment holds: it stays code
                continue
            depth, j = 1, i + 2
            while j < n and depth:
                if sql.startswith("*/", j):
                    depth -= 1
                    j += 2
                elif not mysql and sql.startswith("/*", j):
                    depth += 1  # PostgreSQL comments nest
                    j += 2
                else:
                    j += 1
            if depth:
                raise ValidationError({"query": ["The query has a comment that is not closed."]})
            blank(i, j)
            i = j
        elif ch in "'\"" or (mysql and ch == "`"):
            escapes = (mysql and ch != "`") or (
                ch == "'"
                and i > 0
                and sql[i - 1] in "eE"
                and (i < 2 or not (sql[i - 2].isalnum() or sql[i - 2] in "_$"))
            )
            j = i + 1
            while j < n:
                if escapes and sql[j] == "\\":
                    j += 2
                elif sql[j] == ch:
                    if sql[j + 1 : j + 2] == ch:
                        j += 2
                    else:
                        break
                else:
                    j += 1
            if j >= n:
                raise ValidationError({"query": ["The query has a quote that is not closed."]})
            blank(i, j + 1)
            i = j + 1
        elif ch == "$" and not mysql and not (i and (sql[i - 1].isalnum() or sql[i - 1] in "_$")):
            tag = re.match(r"\$(?:[^\W\d]\w*)?\$", sql[i:])
            if tag is None:
                i += 1
                continue
            end = sql.find(tag.group(0), i + len(tag.group(0)))
            if end < 0:
                raise ValidationError({"query": ["The query has a $-quote that is not closed."]})
            blank(i, end + len(tag.group(0)))
            i = end + len(tag.group(0))
        else:
            i += 1
    return "".join(out)


def clean_column(name: str, field: str = "high_water_column") -> str:
    """A column name is an identifier and nothing else: it is quoted, never pasted, into SQL."""
    name = (name or "").strip()
    if name and not (_IDENTIFIER.fullmatch(name) and len(name) <= 64):
        raise ValidationError(
            {field: [f"'{name[:80]}' is not a column name (letters, digits and _ only)."]}
        )
    return name


def validate_database_source(source: Source) -> None:
    """Check a database source's settings without connecting (for forms and before a sync)."""
    errors: dict[str, list[str]] = {}
    env = (source.connection_env or "").strip()
    if not env:
        errors["connection_env"] = [
            "Name the environment variable that holds the connection URL (e.g. BILLING_DB_URL)."
        ]
    elif not _ENV_NAME.fullmatch(env):
        errors["connection_env"] = [f"'{env[:80]}' is not an environment variable name."]
    for check in (
        lambda: clean_query(source.query),
        lambda: clean_column(source.high_water_column),
    ):
        try:
            check()
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def _source_settings(source: Source) -> ReadSettings:
    validate_database_source(source)
    column = clean_column(source.high_water_column)
    return ReadSettings(
        connection_env=source.connection_env.strip(),
        query=clean_query(source.query),
        high_water_column=column,
        start_mark=source.high_water_mark if column else "",
    )


def run_settings(run: ImportRun, *, persist: bool) -> ReadSettings:
    """What `run` reads: the source's current settings until the run has committed rows, then
    the settings pinned when it started (`persist` pins them on the run)."""
    pinned = run.options.get("database")
    if pinned and run.rows_done:
        return ReadSettings(**pinned)
    source = Source.objects.get(pk=run.source_id)
    if source.kind != Source.Kind.DATABASE:
        raise ValidationError(f"{source} is not a database source.")
    settings = _source_settings(source)
    if persist:
        options = {**run.options, "database": dataclasses.asdict(settings)}
        ImportRun.objects.filter(pk=run.pk).update(
            options=options, high_water_mark=settings.start_mark
        )
        run.options, run.high_water_mark = options, settings.start_mark
    return settings


# --- connections ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ExternalDatabase:
    """Where a source's rows live: the dialect and the URL read from the environment."""

    dialect: str  # "postgresql" or "mysql"
    url: str
    env_name: str

    @property
    def label(self) -> str:
        """The URL without its password, for messages."""
        parts = urlsplit(self.url)
        user = f"{unquote(parts.username)}@" if parts.username else ""
        try:
            port = f":{parts.port}" if parts.port else ""
        except ValueError:
            port = ""
        return f"{parts.scheme}://{user}{parts.hostname or ''}{port}{parts.path}"

    def quote(self, name: str) -> str:
        if self.dialect == "postgresql":
            return '"' + name.replace('"', '""') + '"'
        return "`" + name.replace("`", "``") + "`"


def external_database(env_name: str) -> ExternalDatabase:
    """The database an environment variable points at; a clear error when it cannot be used."""
    if not env_name or not _ENV_NAME.fullmatch(env_name):
        raise ValidationError(
            "The source names no environment variable for its connection URL (e.g. BILLING_DB_URL)."
        )
    url = os.environ.get(env_name, "").strip()
    if not url:
        raise ValidationError(
            f"The environment variable {env_name} is not set: set it to the database URL "
            f"(postgresql://user@host:5432/db or mysql://user@host:3306/db) wherever Patron "
            f"runs, the worker included."
        )
    scheme = urlsplit(url).scheme.lower()
    dialect = SCHEMES.get(scheme)
    if dialect is None:
        shown = f"'{scheme}'" if scheme else "no scheme"
        raise ValidationError(
            f"{env_name} has {shown}: Patron reads PostgreSQL (postgresql://…) and "
            f"MariaDB/MySQL (mysql://…) databases."
        )
    return ExternalDatabase(dialect=dialect, url=url, env_name=env_name)


def _first_line(exc: BaseException) -> str:
    text = str(exc.args[1] if isinstance(exc, pymysql.MySQLError) and len(exc.args) > 1 else exc)
    return (text.strip().splitlines() or [type(exc).__name__])[0].strip()


def _mysql_arguments(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    arguments: dict[str, Any] = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "database": unquote(parts.path.lstrip("/")) or None,
        "charset": "utf8mb4",
    }
    for key, value in parse_qsl(parts.query):
        if key == "charset":
            arguments["charset"] = value
        elif key in ("unix_socket", "ssl_ca", "ssl_cert", "ssl_key"):
            arguments[key] = value
        elif key == "ssl" and value.lower() in ("1", "true", "required", "require"):
            arguments["ssl_verify_cert"] = True
    return arguments


def _connect(db: ExternalDatabase) -> Any:
    """A read-only connection: the source's query cannot change the other system."""
    try:
        if db.dialect == "postgresql":
            url = "postgresql:" + db.url.split(":", 1)[1]
            pg = psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT, application_name="patron")
            pg.read_only = True
            return pg
        my = pymysql.connect(
            **_mysql_arguments(db.url),
            connect_timeout=CONNECT_TIMEOUT,
            cursorclass=pymysql.cursors.SSCursor,
            autocommit=False,
        )
        with my.cursor() as cursor:
            cursor.execute("SET SESSION TRANSACTION READ ONLY")
            # Patron writes a batch between reads; the server must not give up meanwhile.
            cursor.execute("SET SESSION net_write_timeout = 3600")
        return my
    except ValueError as exc:
        raise ValidationError(f"{db.env_name} is not a valid database URL ({exc}).") from exc
    except DRIVER_ERRORS as exc:
        raise ValidationError(f"Patron cannot connect to {db.label}: {_first_line(exc)}") from exc


def _close(connection: Any) -> None:
    # Closing a connection that broke has nothing left to do.
    with contextlib.suppress(Exception):
        connection.close()


def _execute(db: ExternalDatabase, connection: Any, sql: str, params: dict[str, Any]) -> Any:
    """A cursor over `sql`'s rows that fetches them from the server in slices."""
    try:
        if db.dialect == "postgresql":
            cursor = connection.cursor(name=f"patron_{uuid.uuid4().hex[:12]}")
            cursor.itersize = FETCH_ROWS
        else:
            cursor = connection.cursor()
        cursor.execute(sql, params)
        return cursor
    except DRIVER_ERRORS as exc:
        raise ValidationError(
            f"The source's query failed on {db.label}: {_first_line(exc)}"
        ) from exc


def _names(cursor: Any) -> list[str]:
    return [d[0] if isinstance(d, tuple) else d.name for d in cursor.description or []]


def _fetch(cursor: Any) -> Iterator[tuple[Any, ...]]:
    while chunk := cursor.fetchmany(FETCH_ROWS):
        yield from chunk


# --- SQL --------------------------------------------------------------------------------------


def _relation(db: ExternalDatabase, query: str) -> str:
    query = clean_query(query)
    if _TABLE.fullmatch(query):
        return ".".join(db.quote(part) for part in query.split("."))
    # Parameters are passed, so a literal % is written %%; the newline ends a trailing comment.
    return "(\n" + query.replace("%", "%%") + "\n)"


def _probe(db: ExternalDatabase, connection: Any, query: str) -> list[str]:
    """The query's column names, without reading a row."""
    cursor = _execute(
        db, connection, f"SELECT * FROM {_relation(db, query)} AS {ALIAS} LIMIT 0", {}
    )
    try:
        names = _names(cursor)
        list(_fetch(cursor))
        return names
    finally:
        cursor.close()


def _find_column(columns: list[str], name: str, what: str) -> str:
    if name in columns:
        return name
    folded = [c for c in columns if c.lower() == name.lower()]
    if len(folded) == 1:
        return folded[0]
    shown = ", ".join(columns[:30])
    raise ValidationError(f"The source's query has no column '{name}' ({what}); it has: {shown}.")


def _tie_breaker(columns: list[str], key_column: str, mark_column: str) -> str:
    """Orders rows with the same mark the same way on every read: the source key, else `id`,
    else the first column."""
    for candidate in (key_column, "id"):
        if candidate:
            found = [c for c in columns if c.lower() == candidate.lower()]
            if found and found[0] != mark_column:
                return found[0]
    first = columns[0] if columns else ""
    return first if first != mark_column else ""


def _select(
    db: ExternalDatabase,
    settings: ReadSettings,
    columns: list[str],
    *,
    key_column: str = "",
    count: bool = False,
) -> tuple[str, dict[str, Any], str]:
    """The statement a run reads: above the mark, in mark order (or its row count); with the
    parameters and the high-water column as the query names it."""
    params: dict[str, Any] = {}
    sql = f"SELECT {'COUNT(*)' if count else '*'} FROM {_relation(db, settings.query)} AS {ALIAS}"
    mark_column = ""
    if settings.high_water_column:
        mark_column = _find_column(columns, settings.high_water_column, "the high-water column")
        if settings.start_mark:
            sql += f" WHERE {ALIAS}.{db.quote(mark_column)} > %(mark)s"
            params["mark"] = settings.start_mark
    if not count:
        order = [c for c in (mark_column, _tie_breaker(columns, key_column, mark_column)) if c]
        if order:
            sql += " ORDER BY " + ", ".join(f"{ALIAS}.{db.quote(c)}" for c in order)
    return sql, params, mark_column


def as_text(value: Any) -> str:
    """A database value as the text a file would hold: ISO dates, plain decimals, None → ""."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("\x00", "").strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        try:
            return raw.decode("utf-8").replace("\x00", "").strip()
        except UnicodeDecodeError:
            return raw.hex()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value).strip()


# --- reading ----------------------------------------------------------------------------------


def _key_column(columns: list[dict[str, Any]]) -> str:
    return next((c["column"] for c in columns if c.get("target") == "source_key"), "")


class DatabaseReader:
    """A database run's rows in the reader contract of `readers.Reader`: `(line, {column:
    text})` with line = the row's 1-based ordinal in mark order, or a `BadRow`."""

    def __init__(self, run: ImportRun) -> None:
        self.run = run
        self.settings = run_settings(run, persist=True)
        self.columns: list[str] = []
        self.rows_read = 0
        self.last_mark: str | None = None

    @property
    def bytes_read(self) -> int:
        return 0  # a database has no byte offset; progress is counted in rows

    def rows(self, skip: int = 0) -> Iterator[tuple[int, dict[str, Any]] | BadRow]:
        db = external_database(self.settings.connection_env)
        connection = _connect(db)
        try:
            found = _probe(db, connection, self.settings.query)
            sql, params, mark_column = _select(
                db, self.settings, found, key_column=_key_column(self.run.columns)
            )
            cursor = _execute(db, connection, sql, params)
            names = _names(cursor)
            self.columns = _unique_names(names)
            mark_at = names.index(mark_column) if mark_column else None
            self.rows_read = 0
            try:
                for values in _fetch(cursor):
                    self.rows_read += 1
                    line = self.rows_read
                    # Skipped rows count too: they were committed by an earlier attempt.
                    if mark_at is not None and values[mark_at] is not None:
                        self.last_mark = as_text(values[mark_at])
                    if line <= skip:
                        continue
                    try:
                        row = {c: as_text(v) for c, v in zip(self.columns, values, strict=True)}
                    except (ValueError, TypeError) as exc:
                        yield BadRow(line, "unreadable", f"The row cannot be read: {exc}.")
                        continue
                    yield line, row
            except DRIVER_ERRORS as exc:
                raise ValidationError(
                    f"Reading from {db.label} stopped after {self.rows_read} rows: "
                    f"{_first_line(exc)}"
                ) from exc
        finally:
            _close(connection)

    def finish(self, run: ImportRun) -> None:
        """Move the source's mark to the highest value this run read, unless another run
        moved it meanwhile (then the next sync reads a few rows twice, harmlessly)."""
        mark = self.last_mark
        if mark is None or not self.settings.high_water_column:
            return
        if len(mark) > MARK_MAX_LENGTH:
            raise ValidationError(
                f"The high-water column's values are longer than {MARK_MAX_LENGTH} characters; "
                "choose a timestamp or a number that grows with every change."
            )
        Source.objects.filter(pk=run.source_id, high_water_mark=self.settings.start_mark).update(
            high_water_mark=mark
        )
        ImportRun.objects.filter(pk=run.pk).update(high_water_mark=mark)
        run.high_water_mark = mark


def read_sample(settings: ReadSettings, rows: int) -> tuple[list[str], list[dict[str, str]]]:
    """The columns and first rows of a source's query (any order), for previews."""
    db = external_database(settings.connection_env)
    connection = _connect(db)
    try:
        sql = f"SELECT * FROM {_relation(db, settings.query)} AS {ALIAS} LIMIT {int(rows)}"
        cursor = _execute(db, connection, sql, {})
        try:
            columns = _unique_names(_names(cursor))
            sample = [
                {c: as_text(v) for c, v in zip(columns, values, strict=True)}
                for values in _fetch(cursor)
            ]
        finally:
            cursor.close()
        if settings.high_water_column:
            _find_column(columns, settings.high_water_column, "the high-water column")
        return columns, sample
    except DRIVER_ERRORS as exc:
        raise ValidationError(f"Reading from {db.label} failed: {_first_line(exc)}") from exc
    finally:
        _close(connection)


def preview(run: ImportRun, rows: int = PREVIEW_ROWS) -> tuple[list[str], list[Any]]:
    """`readers.preview` for a database run: the columns and first rows, numbered from 1."""
    columns, sample = read_sample(run_settings(run, persist=False), rows)
    return columns, list(enumerate(sample, start=1))


def estimate_total(run: ImportRun) -> int:
    """How many rows the run will read (above its starting mark), for the progress bar."""
    settings = run_settings(run, persist=True)
    db = external_database(settings.connection_env)
    connection = _connect(db)
    try:
        found = _probe(db, connection, settings.query)
        sql, params, _ = _select(db, settings, found, count=True)
        cursor = _execute(db, connection, sql, params)
        try:
            row = cursor.fetchone()
            list(_fetch(cursor))
        finally:
            cursor.close()
        return int(row[0]) if row else 0
    except DRIVER_ERRORS as exc:
        raise ValidationError(f"Reading from {db.label} failed: {_first_line(exc)}") from exc
    finally:
        _close(connection)


# --- services ---------------------------------------------------------------------------------


def _check_may_configure(actor: Any, source: Source) -> None:
    if source.pk is None:
        services._require(actor, "source.add")
    elif not may(actor, source, "change"):
        raise PermissionDenied("You may not change this source.")


def source_test_connection(*, actor: Any, source: Source) -> dict[str, Any]:
    """Connect with the source's (possibly unsaved) settings and show what the query returns:
    its columns and first rows, for the form and the mapping step. Reads, never writes."""
    _check_may_configure(actor, source)
    if source.kind != Source.Kind.DATABASE:
        raise ValidationError("Only a database source has a connection to test.")
    settings = _source_settings(source)
    columns, rows = read_sample(settings, PREVIEW_ROWS)
    db = external_database(settings.connection_env)
    return {
        "database": db.label,
        "dialect": db.dialect,
        "columns": columns,
        "rows": rows,
        "high_water_column": (
            _find_column(columns, settings.high_water_column, "")
            if settings.high_water_column
            else ""
        ),
        "high_water_mark": settings.start_mark,
    }


def database_mapping_suggest(source: Source) -> list[dict[str, Any]]:
    """A first mapping for a database source, from its column names and first rows."""
    columns, rows = read_sample(_source_settings(source), 50)
    return fieldmod.suggest(
        columns,
        rows,
        entity=source.entity,
        custom_fields=services._custom_fields(source.entity),
    )


@transaction.atomic
def database_run_start(*, actor: Any, source: Source) -> ImportRun:
    """A draft run of a database source for the mapping screen (the file import's screen):
    the saved mapping, else one suggested from the first rows."""
    _check_may_configure(actor, source)
    services._require(actor, f"{source.entity}.add")
    if source.kind != Source.Kind.DATABASE:
        raise ValidationError("Only a database source can be pulled from a database.")
    mapping = source.mappings.order_by("-updated_at").first()
    columns = mapping.columns if mapping else database_mapping_suggest(source)
    if mapping is not None:
        validate_database_source(source)
    return ImportRun.objects.create(
        source=source,
        kind=ImportRun.Kind.DATABASE,
        mapping=mapping,
        columns=columns,
        match_by=mapping.match_by if mapping else "email",
        file_name=f"Database pull of {source.name}",
        created_by=actor if getattr(actor, "pk", None) else None,
    )


def source_sync(
    *,
    source_id: int,
    actor: Any = None,
    progress: services.Progress | None = None,
    batch_size: int = services.BATCH_SIZE,
) -> ImportRun | None:
    """Pull what changed in a database source since its last sync, with its saved mapping, in
    this process (the caller decides: `tasks.source_sync_task` is the background way).

    Returns None when a run of the source is already under way. Without an actor (a scheduled
    sync) the run acts for the person who set the source up, so matching by email reaches the
    same customers as their own syncs. A failure (no URL, no connection, a bad query) fails the
    run with its message and raises it as a ValidationError; the run can be resumed.
    """
    with transaction.atomic():
        source = Source.objects.select_for_update().get(pk=source_id)
        if actor is not None:
            if not may(actor, source, "change"):
                raise PermissionDenied("You may not sync this source.")
            services._require(actor, f"{source.entity}.add")
        if source.kind != Source.Kind.DATABASE:
            raise ValidationError("Only a database source can be synced.")
        validate_database_source(source)
        mapping: Mapping | None = source.mappings.order_by("-updated_at").first()
        if mapping is None or not any(c.get("target") for c in mapping.columns):
            raise ValidationError(
                f"Map the columns of {source.name} before syncing it: open a pull from the "
                "source, check the suggested mapping and start it once."
            )
        active = [ImportRun.Status.QUEUED, ImportRun.Status.RUNNING, ImportRun.Status.CANCELLING]
        if source.runs.filter(status__in=active).exists():
            return None
        acting = actor if getattr(actor, "pk", None) else source.created_by
        run = ImportRun.objects.create(
            source=source,
            kind=ImportRun.Kind.DATABASE,
            mapping=mapping,
            columns=mapping.columns,
            match_by=mapping.match_by,
            file_name=f"Sync of {source.name}",
            status=ImportRun.Status.QUEUED,
            created_by=acting,
        )
        audit.record(
            actor=actor,
            action="create",
            obj=run,
            changes={"file_name": [None, run.file_name], "source": [None, source.pk]},
        )
    return services.import_process(run.pk, progress=progress, batch_size=batch_size)


def sources_due(now: datetime.datetime | None = None) -> list[int]:
    """Database sources with a schedule and a mapping whose sync is due (or never ran); each
    one's next time is moved forward here, so a second scheduler asking at the same moment gets
    none of them."""
    now = now or timezone.now()
    candidates = (
        Source.objects.filter(kind=Source.Kind.DATABASE, sync_every_minutes__gt=0)
        .filter(Q(next_sync_at__isnull=True) | Q(next_sync_at__lte=now))
        .filter(Exists(Mapping.objects.filter(source=OuterRef("pk"))))
        .values_list("pk", "next_sync_at", "sync_every_minutes")
    )
    due = []
    for source_id, next_sync_at, minutes in candidates:
        claimed = Source.objects.filter(pk=source_id, next_sync_at=next_sync_at)
        if next_sync_at is None:
            claimed = Source.objects.filter(pk=source_id, next_sync_at__isnull=True)
        if claimed.update(next_sync_at=now + datetime.timedelta(minutes=minutes or 0)):
            due.append(source_id)
    return due
