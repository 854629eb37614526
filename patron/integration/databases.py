"""Database sources: rows pulled from another SQL database (PostgreSQL, MariaDB/MySQL), on
demand or on a schedule, through the same mapping, validation and staging as a file.

The connection URL is read from the environment variable the source names
(`BILLING_DB_URL=postgresql://patron@billing:5432/billing`), so no password is stored in
Patron's database. Only administrators may choose that variable and the query, and never one
of Patron's own (its database URL, its secret key): they decide what Patron reads. The
source's query is a table name or one SELECT; Patron wraps it as
`SELECT * FROM (query) AS patron_src` and, when the source has a high-water column, reads the
rows at or above the mark the previous sync reached (rows that tie with the mark are read
again and change nothing), ordered by that column and a tie-breaker, through a server-side
cursor (constant memory however large the table).

A run reads the source's settings until it commits its first rows; from then on they are
pinned in `run.options["database"]` (the mark it started from is `run.high_water_mark`). Where
each batch ends, as (mark, tie-breaker), is recorded before the batch is written, so a resumed
run reads on from the last committed row by value (`(mark, key) > (…)`), not by position: a row
the other system changed meanwhile cannot make it skip one it never read.
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
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

import psycopg
import pymysql
import pymysql.cursors
import sqlglot
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from patron.core import audit
from patron.core.permissions import can, may

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
RESUME = "database_resume"  # run.options: where each batch ends, as (mark, tie-breaker)
WARNINGS = "database_warnings"  # run.options: what a sync could not read, for the report

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
# A row limit at the top of a query, for when sqlglot cannot parse it (read on the code only).
_ROW_LIMIT = re.compile(r"\b(limit|offset|fetch)\b", re.IGNORECASE)

# Environment variables a source may not read: Patron's own settings (its database, its secret
# key; every PATRON_* variable) and anything named like a secret. Reading DATABASE_URL would let
# a query read Patron's own tables, users' password hashes included.
OWN_VARIABLES = frozenset({"DATABASE_URL", "SECRET_KEY"})
OWN_PREFIXES = ("PATRON_", "DJANGO_")
SECRET_WORDS = ("SECRET", "PASSWORD", "PASSWD", "TOKEN", "PRIVATE")
LOCAL_HOSTS = frozenset({"", "localhost", "127.0.0.1", "::1"})


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


def refused_variable(name: str) -> str:
    """Why a source may not read the environment variable `name` ('' when it may): Patron's
    own settings hold its database URL and its secrets, and a variable named like a secret is
    not a database URL."""
    upper = name.upper()
    if upper in OWN_VARIABLES or upper.startswith(OWN_PREFIXES):
        return (
            f"{name} is one of Patron's own settings, which a source may not read: put the other "
            "system's URL in a variable of its own, e.g. BILLING_DB_URL."
        )
    if any(word in upper for word in SECRET_WORDS):
        return (
            f"{name} is named like a secret, which a source may not read: put the other "
            "system's URL in a variable of its own, e.g. BILLING_DB_URL."
        )
    return ""


def row_limit(query: str) -> str:
    """The LIMIT, OFFSET or FETCH that cuts the rows of the whole query ('' when there is
    none): at its top, in a part of a UNION, or in the subquery or WITH query its rows come
    from. Patron filters by the high-water mark outside the query, so such a limit applies
    before the mark and later syncs read nothing. A limit inside an expression (a scalar
    subquery in the select list or the WHERE clause) cuts nothing and is allowed."""
    query = clean_query(query)
    if _TABLE.fullmatch(query):
        return ""
    for dialect in ("postgres", "mysql"):
        try:
            tree = sqlglot.parse_one(query, read=dialect)
        except sqlglot.errors.SqlglotError:
            continue
        return _limit_of(tree, {}, 0)
    # Neither dialect's parser reads it: look for the words outside parentheses.
    for mysql in (False, True):
        depth, top = 0, []
        for ch in _code_only(query, mysql=mysql):
            depth += (ch == "(") - (ch == ")")
            top.append(ch if depth == 0 and ch not in "()" else " ")
        found = _ROW_LIMIT.search("".join(top))
        if found:
            return found.group(1).upper()
    return ""


def _limit_of(node: Any, ctes: dict[str, Any], depth: int) -> str:
    if node is None or depth > 30:
        return ""
    exp = sqlglot.exp
    for arg in ("limit", "offset"):
        found = node.args.get(arg)
        if found is not None:
            return "FETCH" if isinstance(found, exp.Fetch) else arg.upper()
    with_ = node.args.get("with_") or node.args.get("with")
    if with_ is not None:
        ctes = {**ctes, **{cte.alias_or_name.lower(): cte.this for cte in with_.expressions}}
    if isinstance(node, exp.Subquery):
        return _limit_of(node.this, ctes, depth + 1)
    if isinstance(node, exp.SetOperation):
        return _limit_of(node.this, ctes, depth + 1) or _limit_of(node.expression, ctes, depth + 1)
    if isinstance(node, exp.Select):
        from_ = node.args.get("from_") or node.args.get("from")
        rows_from = from_.this if from_ is not None else None
        if isinstance(rows_from, exp.Subquery):
            return _limit_of(rows_from.this, ctes, depth + 1)
        if isinstance(rows_from, exp.Table) and not rows_from.db:
            name = rows_from.name.lower()
            if name in ctes:
                rest = {k: v for k, v in ctes.items() if k != name}
                return _limit_of(ctes[name], rest, depth + 1)
    return ""


def validate_database_source(source: Source, *, partial: bool = False) -> None:
    """Check a database source's settings without connecting (before it is saved, a sync
    or a test). `partial` checks what is filled in and lets the rest be empty (a source being
    set up)."""
    errors: dict[str, list[str]] = {}
    env = (source.connection_env or "").strip()
    if not env:
        if not partial:
            errors["connection_env"] = [
                "Name the environment variable that holds the connection URL (e.g. BILLING_DB_URL)."
            ]
    elif not _ENV_NAME.fullmatch(env):
        errors["connection_env"] = [f"'{env[:80]}' is not an environment variable name."]
    elif refused_variable(env):
        errors["connection_env"] = [refused_variable(env)]
    checks: list[Callable[[], object]] = [lambda: clean_column(source.high_water_column)]
    if (source.query or "").strip() or not partial:
        checks.append(lambda: _check_query(source))
    for check in checks:
        try:
            check()
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def _check_query(source: Source) -> None:
    clean_query(source.query)
    if not (source.high_water_column or "").strip():
        return
    limit = row_limit(source.query)
    if limit:
        raise ValidationError(
            {
                "query": [
                    f"The query's rows are cut by {limit}, which cannot be combined with a "
                    "high-water column: Patron reads the rows above the mark out of what the "
                    f"query returns, so once {limit} has cut them later syncs read nothing. "
                    f"Remove {limit} (Patron reads in batches by itself) or clear the "
                    "high-water column."
                ]
            }
        )


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
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{user}{parts.hostname or ''}{port}{parts.path}"

    def quote(self, name: str) -> str:
        if self.dialect == "postgresql":
            return '"' + name.replace('"', '""') + '"'
        return "`" + name.replace("`", "``") + "`"

    def scrub(self, text: str) -> str:
        """`text` (a driver's message) without the URL's password and user information, as
        written or percent-decoded: drivers quote a URL they cannot parse."""
        parts = urlsplit(self.url)
        userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
        text = text.replace(self.url, self.label)
        secrets = {userinfo, unquote(userinfo)}
        if parts.password:
            secrets |= {parts.password, unquote(parts.password)}
        for secret in sorted(filter(None, secrets), key=len, reverse=True):
            if len(secret) >= 4:
                text = text.replace(secret, "***")
            else:  # a very short one only where it stands alone, not inside every word
                text = re.sub(rf"(?<!\w){re.escape(secret)}(?!\w)", "***", text)
        return text


def external_database(env_name: str) -> ExternalDatabase:
    """The database an environment variable points at; a clear error when it cannot be used.
    No message shows any part of the variable's value."""
    if not env_name or not _ENV_NAME.fullmatch(env_name):
        raise ValidationError(
            "The source names no environment variable for its connection URL (e.g. BILLING_DB_URL)."
        )
    refused = refused_variable(env_name)
    if refused:
        raise ValidationError(refused)
    url = os.environ.get(env_name, "").strip()
    if not url:
        raise ValidationError(
            f"The environment variable {env_name} is not set: set it to the database URL "
            f"(postgresql://user@host:5432/db or mysql://user@host:3306/db) wherever Patron "
            f"runs, the worker included."
        )
    try:
        parts = urlsplit(url)
        # Each of these raises ValueError for a URL it cannot read (a bad port, a lone "[").
        _ = (parts.port, parts.hostname, parts.username, parts.password)
    except ValueError:
        raise ValidationError(
            f"{env_name} does not hold a valid database URL: write it as "
            "postgresql://user:password@host:5432/database or "
            "mysql://user:password@host:3306/database, with special characters in the user "
            "and password percent-encoded (%40 for @, %25 for %)."
        ) from None
    dialect = SCHEMES.get(parts.scheme.lower())
    if dialect is None:
        raise ValidationError(
            f"{env_name} does not hold a PostgreSQL (postgresql://…) or MariaDB/MySQL "
            "(mysql://…) URL, the databases Patron reads."
        )
    if _is_patrons_own_database(url, dialect, parts):
        raise ValidationError(
            f"{env_name} points at Patron's own database, which a source may not read: give "
            "it the URL of the other system's database."
        )
    return ExternalDatabase(dialect=dialect, url=url, env_name=env_name)


def _is_patrons_own_database(url: str, dialect: str, parts: SplitResult) -> bool:
    """Whether `url` reaches a database Patron itself uses (same server and database name,
    however the URL spells it): its tables hold users' password hashes."""
    if url == os.environ.get("DATABASE_URL", "").strip():
        return True
    default_port = 5432 if dialect == "postgresql" else 3306
    host = (parts.hostname or "").lower()
    wanted = (
        "local" if host in LOCAL_HOSTS else host,
        parts.port or default_port,
        unquote(parts.path.lstrip("/")),
    )
    for alias in connections:
        own = connections[alias].settings_dict
        engine = own.get("ENGINE", "")
        if ("postgresql" if "postgres" in engine else "mysql" if "mysql" in engine else "") != (
            dialect
        ):
            continue
        own_host = str(own.get("HOST") or "").lower()
        names = {own.get("NAME"), (own.get("TEST") or {}).get("NAME")}
        for name in filter(None, names):
            if (
                "local" if own_host in LOCAL_HOSTS else own_host,
                int(own.get("PORT") or default_port),
                str(name),
            ) == wanted:
                return True
    return False


def _first_line(exc: BaseException) -> str:
    text = str(exc.args[1] if isinstance(exc, pymysql.MySQLError) and len(exc.args) > 1 else exc)
    return (text.strip().splitlines() or [type(exc).__name__])[0].strip()


def _driver_message(db: ExternalDatabase, exc: BaseException) -> str:
    """What the driver said, on one line and without the URL's password."""
    return db.scrub(_first_line(exc))


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
    except ValueError:
        raise ValidationError(f"{db.env_name} does not hold a valid database URL.") from None
    except DRIVER_ERRORS as exc:
        raise ValidationError(
            f"Patron cannot connect to {db.label}: {_driver_message(db, exc)}"
        ) from None


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
            f"The source's query failed on {db.label}: {_driver_message(db, exc)}"
        ) from None


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


@dataclasses.dataclass(frozen=True)
class ReadOrder:
    """The order a run reads rows in: the high-water column (as the query names it, '' without
    one), then the tie-breaker that orders rows with the same mark."""

    mark_column: str
    tie_breaker: str

    @property
    def columns(self) -> list[str]:
        return [c for c in (self.mark_column, self.tie_breaker) if c]


def _read_order(columns: list[str], settings: ReadSettings, key_column: str = "") -> ReadOrder:
    mark_column = ""
    if settings.high_water_column:
        mark_column = _find_column(columns, settings.high_water_column, "the high-water column")
    return ReadOrder(mark_column, _tie_breaker(columns, key_column, mark_column))


def _select(
    db: ExternalDatabase,
    settings: ReadSettings,
    order: ReadOrder,
    *,
    after: list[Any] | None = None,
    count: bool = False,
) -> tuple[str, dict[str, Any]]:
    """The statement a run reads (or its row count), with its parameters: the rows at or above
    the mark (a row written later with the very mark is read, and the rows read again change
    nothing), after the row `after` when a run resumes, in the run's order."""
    params: dict[str, Any] = {}
    sql = f"SELECT {'COUNT(*)' if count else '*'} FROM {_relation(db, settings.query)} AS {ALIAS}"
    where = []
    if order.mark_column and settings.start_mark:
        where.append(f"{ALIAS}.{db.quote(order.mark_column)} >= %(mark)s")
        params["mark"] = settings.start_mark
    if after is not None:
        # The rows equal to the last written one are read again (and change nothing): the
        # tie-breaker need not be unique (a column named id, a key the query repeats), and a
        # strict "after" would skip the unread rows that share its values.
        where.append(_after(db, order.columns, after, params))
    if where:
        sql += " WHERE " + " AND ".join(where)
    if not count and order.columns:
        sql += " ORDER BY " + ", ".join(f"{ALIAS}.{db.quote(c)}" for c in order.columns)
    return sql, params


def _after(
    db: ExternalDatabase,
    columns: list[str],
    values: list[Any],
    params: dict[str, Any],
) -> str:
    """A condition for the rows from `values` on in `ORDER BY columns`, where NULL sorts as the
    dialect sorts it (last on PostgreSQL, first on MariaDB/MySQL). A row value comparison
    `(a, b) > (x, y)` is not used: it is NULL, not true or false, when a column is."""
    nulls_first = db.dialect == "mysql"

    def after(i: int) -> str:
        if i == len(columns):
            return "1 = 1"  # the row equal to `values` too: read again, it changes nothing
        column = f"{ALIAS}.{db.quote(columns[i])}"
        rest = after(i + 1)
        if values[i] is None:
            same = f"({column} IS NULL AND {rest})"
            return f"({column} IS NOT NULL OR {same})" if nulls_first else same
        name = f"after_{i}"
        params[name] = values[i]
        later = [f"{column} > %({name})s", f"({column} = %({name})s AND {rest})"]
        if not nulls_first:
            later.append(f"{column} IS NULL")
        return "(" + " OR ".join(later) + ")"

    return after(0)


def _position_value(value: Any) -> Any:
    """A value of an ORDER BY column as JSON keeps it and the database compares it again:
    numbers and strings as they are (a string is not trimmed), the rest as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return as_text(value)


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
    text})` with line = the row's 1-based ordinal in mark order, or a `BadRow`.

    A resumed run reads on after its last committed row by value: the pipeline asks for
    `bytes_read` each time it cuts a batch, before it writes it, and the reader records then,
    in `run.options`, which (mark, tie-breaker) ends the batch at that line; the batch's
    transaction commits the line as `rows_done`, so the committed checkpoint names a recorded
    row. A run with no recorded row reads again from the mark it started at: the rows it
    already wrote come back unchanged."""

    def __init__(self, run: ImportRun) -> None:
        self.run = run
        self.settings = run_settings(run, persist=True)
        self.columns: list[str] = []
        self.rows_read = 0
        self.last_mark: str | None = None
        self._order: list[str] = []
        self._line = 0  # the line of the last row read
        self._position: list[Any] | None = None  # its values of the ORDER BY columns
        self._recorded = -1  # the last line recorded in run.options

    @property
    def bytes_read(self) -> int:
        """A database has no byte offset (progress is counted in rows); see the class."""
        self._record_position()
        return 0

    def rows(self, skip: int = 0) -> Iterator[tuple[int, dict[str, Any]] | BadRow]:
        db = external_database(self.settings.connection_env)
        connection = _connect(db)
        try:
            found = _probe(db, connection, self.settings.query)
            order = _read_order(found, self.settings, _key_column(self.run.columns))
            after = self._resume_from(skip, order)
            sql, params = _select(db, self.settings, order, after=after)
            cursor = _execute(db, connection, sql, params)
            names = _names(cursor)
            self.columns = _unique_names(names)
            at = [names.index(c) for c in order.columns]
            mark_at = names.index(order.mark_column) if order.mark_column else None
            self.rows_read = 0
            self._line = skip
            try:
                for values in _fetch(cursor):
                    self.rows_read += 1
                    self._line += 1
                    self._position = [_position_value(values[i]) for i in at]
                    if mark_at is not None and values[mark_at] is not None:
                        self.last_mark = _checked_mark(as_text(values[mark_at]))
                    try:
                        row = {c: as_text(v) for c, v in zip(self.columns, values, strict=True)}
                    except (ValueError, TypeError) as exc:
                        yield BadRow(self._line, "unreadable", f"The row cannot be read: {exc}.")
                        continue
                    yield self._line, row
            except DRIVER_ERRORS as exc:
                raise ValidationError(
                    f"Reading from {db.label} stopped after {self.rows_read} rows: "
                    f"{_driver_message(db, exc)}"
                ) from None
            self._record_position()  # the last batch is cut once the rows have run out
        finally:
            _close(connection)

    def _resume_from(self, skip: int, order: ReadOrder) -> list[Any] | None:
        """The ORDER BY values of the run's last committed row (None: read from the start),
        and the recorded rows trimmed to that one."""
        self._order = order.columns
        options = ImportRun.objects.filter(pk=self.run.pk).values_list("options", flat=True).get()
        recorded = (options or {}).get(RESUME) or {}
        entry = (recorded.get("at") or {}).get(str(skip)) if skip else None
        if entry is not None and recorded.get("order") != order.columns:
            entry = None  # recorded in another order: it cannot place a row in this one
        self._store({str(skip): entry} if entry is not None else {}, options or {})
        if entry is None:
            return None
        self._position, self._recorded = entry["after"], skip
        self.last_mark = entry["mark"]
        return entry["after"]

    def _record_position(self) -> None:
        """Record which row ends the rows read so far, before a batch ending there is written;
        the positions before the committed checkpoint are no longer needed."""
        if self._position is None or self._recorded == self._line:
            return
        options, done = (
            ImportRun.objects.filter(pk=self.run.pk).values_list("options", "rows_done").get()
        )
        recorded = ((options or {}).get(RESUME) or {}).get("at") or {}
        at = {line: p for line, p in recorded.items() if int(line) >= done}
        # With the highest mark read so far: rows without a mark may follow it.
        at[str(self._line)] = {"after": self._position, "mark": self.last_mark}
        self._store(at, options or {})
        self._recorded = self._line

    def _store(self, at: dict[str, Any], options: dict[str, Any]) -> None:
        # Only while this process works the run: one presumed dead must not record its rows
        # over those of the process that took the run over (its own batches cannot commit).
        options = {**options, RESUME: {"order": self._order, "at": at}}
        ImportRun.objects.filter(pk=self.run.pk, worker_token=self.run.worker_token).update(
            options=options
        )
        self.run.options = options

    def finish(self, run: ImportRun) -> None:
        """Move the source's mark to the highest value this run read, unless another run
        moved it meanwhile (then the next sync reads a few rows twice, harmlessly)."""
        mark = self.last_mark
        if mark is None or not self.settings.high_water_column:
            return
        Source.objects.filter(pk=run.source_id, high_water_mark=self.settings.start_mark).update(
            high_water_mark=mark
        )
        ImportRun.objects.filter(pk=run.pk).update(high_water_mark=mark)
        run.high_water_mark = mark


def _checked_mark(mark: str) -> str:
    """A mark the source can keep; a longer one fails the run before its row is written."""
    if len(mark) > MARK_MAX_LENGTH:
        raise ValidationError(
            f"The high-water column's values are longer than {MARK_MAX_LENGTH} characters, "
            "more than Patron can keep as the mark; choose a timestamp or a number that grows "
            "with every change."
        )
    return mark


def _warn(run: ImportRun, message: str) -> None:
    """Keep a warning on the run, for its report and the source's page."""
    options = ImportRun.objects.filter(pk=run.pk).values_list("options", flat=True).get() or {}
    warnings = [w for w in options.get(WARNINGS, []) if w != message] + [message]
    options = {**options, WARNINGS: warnings}
    ImportRun.objects.filter(pk=run.pk).update(options=options)
    run.options = options


def run_warnings(run: ImportRun | None) -> list[str]:
    """What a database run could not read (rows without a mark), for reports."""
    return list((run.options or {}).get(WARNINGS, [])) if run is not None else []


def _count(db: ExternalDatabase, connection: Any, sql: str, params: dict[str, Any]) -> int:
    cursor = _execute(db, connection, sql, params)
    try:
        row = cursor.fetchone()
        list(_fetch(cursor))
    except DRIVER_ERRORS as exc:
        raise ValidationError(
            f"Reading from {db.label} failed: {_driver_message(db, exc)}"
        ) from None
    finally:
        cursor.close()
    return int(row[0]) if row else 0


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
        raise ValidationError(
            f"Reading from {db.label} failed: {_driver_message(db, exc)}"
        ) from None
    finally:
        _close(connection)


def preview(run: ImportRun, rows: int = PREVIEW_ROWS) -> tuple[list[str], list[Any]]:
    """`readers.preview` for a database run: the columns and first rows, numbered from 1."""
    columns, sample = read_sample(run_settings(run, persist=False), rows)
    return columns, list(enumerate(sample, start=1))


def estimate_total(run: ImportRun) -> int:
    """How many rows the run will read (at or above its starting mark), for the progress bar;
    and, after the first sync, a warning on the run when rows have no mark (they are never
    read)."""
    settings = run_settings(run, persist=True)
    db = external_database(settings.connection_env)
    connection = _connect(db)
    try:
        found = _probe(db, connection, settings.query)
        order = _read_order(found, settings)
        total = _count(db, connection, *_select(db, settings, order, count=True))
        if order.mark_column and settings.start_mark:
            column = f"{ALIAS}.{db.quote(order.mark_column)}"
            relation = _relation(db, settings.query)
            unmarked = _count(
                db,
                connection,
                f"SELECT COUNT(*) FROM {relation} AS {ALIAS} WHERE {column} IS NULL",
                {},
            )
            if unmarked:
                _warn(
                    run,
                    f"{unmarked} rows of the query have no {order.mark_column}: syncs after "
                    f"the first do not read them, so a row added or changed since without a "
                    f"{order.mark_column} is not imported. Fill {order.mark_column} in the "
                    "other system, or clear the high-water column to read every row on each "
                    "sync.",
                )
        return total
    finally:
        _close(connection)


# --- services ---------------------------------------------------------------------------------


CONNECTION_FIELDS = ("connection_env", "query")


def check_connection_change(*, actor: Any, saved: dict[str, Any], source: Source) -> None:
    """Only administrators (`settings.change`) may set or change a source's connection
    variable or query: they decide what Patron reads from other systems' databases, and a
    query can show whatever the account in the URL may read. `saved` holds the values the
    source had before (empty for a new source)."""
    if actor is None or can(actor, "settings.change"):
        return
    for name in CONNECTION_FIELDS:
        if (getattr(source, name) or "").strip() != (saved.get(name) or "").strip():
            raise PermissionDenied(
                "Only administrators may set or change a source's connection variable or query."
            )


def _check_may_configure(actor: Any, source: Source) -> None:
    if source.pk is None:
        services._require(actor, "source.add")
    elif not may(actor, source, "change"):
        raise PermissionDenied("You may not change this source.")
    saved = Source.objects.filter(pk=source.pk).values(*CONNECTION_FIELDS).first()
    check_connection_change(actor=actor, saved=saved or {}, source=source)


def source_test_connection(*, actor: Any, source: Source) -> dict[str, Any]:
    """Connect with the source's (possibly unsaved) settings and show what the query returns:
    its columns and first rows, for the form and the mapping step. Reads, never writes. A
    connection or query other than the saved one may only be tried by an administrator."""
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
        external_database(source.connection_env.strip())  # a URL it can use, before the screen
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
        if acting is not None and not acting.is_active:
            # Its reach is nobody's now: every change would be refused as forbidden.
            raise ValidationError(
                f"Scheduled syncs of {source.name} act for {acting}, whose account is "
                "deactivated: press Sync now to run it as yourself, or set the source up again."
            )
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
