"""An import killed with SIGKILL at several points, then resumed, ends with exactly the rows of
an uninterrupted run. Real processes (`patron import run` / `patron import resume`) against a
database of their own: SQLite when the suite runs on SQLite, PostgreSQL when it runs there."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from patron.integration.samples import write_messy_csv

ROOT = Path(__file__).resolve().parents[2]
ROWS = 3000
BATCH = 200
# Kill points: as soon as the run works (mid first batch), after a few checkpoints, later on.
KILL_AT = [0, 600, 1900]


def _suite_url() -> str:
    return os.environ.get("DATABASE_URL", "")


@pytest.fixture
def database(tmp_path) -> Iterator[tuple[str, Any]]:
    """A URL for a fresh database, and a function that runs a read query on it."""
    suite = _suite_url()
    if suite.startswith("postgres"):
        import psycopg

        base = suite.rsplit("/", 1)[0]
        name = f"patron_crash_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')

        def query(sql: str) -> list[tuple]:
            with psycopg.connect(f"{base}/{name}") as conn:
                return list(conn.execute(sql).fetchall())

        try:
            yield f"{base}/{name}", query
        finally:
            with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        path = tmp_path / f"crash-{uuid.uuid4().hex[:8]}.sqlite3"

        def query(sql: str) -> list[tuple]:
            conn = sqlite3.connect(path, timeout=20)
            try:
                return list(conn.execute(sql).fetchall())
            finally:
                conn.close()

        yield f"sqlite:///{path}", query


def patron(url: str, tmp: Path, *args: str, wait: bool = True) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "patron.settings",
        "PATRON_ALLOW_INSECURE_KEY": "1",
        "PATRON_VAR_DIR": str(tmp / "var"),
    }
    process = subprocess.Popen(  # noqa: S603 - our own CLI, arguments from this test
        [sys.executable, "-m", "patron.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    if wait:
        out, _ = process.communicate(timeout=300)
        assert process.returncode == 0, out
    return process


def prepare(url: str, tmp: Path) -> None:
    patron(url, tmp, "migrate", "--no-input", "-v0")
    patron(url, tmp, "createuser", "importer", "--password", "Crash-test-pw-1", "--role", "admin")


def outcome(query) -> dict[str, Any]:
    """Everything an import leaves behind, by natural keys (ids differ between databases)."""
    return {
        "runs": query(
            "SELECT status, rows_done, created_count, updated_count, unchanged_count, "
            "quarantined_count, flagged_count FROM integration_importrun"
        ),
        "records": sorted(
            query(
                "SELECT r.source_key, r.content_hash, r.line, c.first_name, c.last_name "
                "FROM integration_sourcerecord r "
                "LEFT JOIN customers_contact c ON c.id = r.contact_id"
            )
        ),
        "quarantine": sorted(query("SELECT line, reason FROM integration_quarantinedrow")),
        "contacts": query("SELECT count(*) FROM customers_contact"),
        "emails": sorted(query("SELECT email FROM customers_emailaddress")),
        "phones": sorted(query("SELECT e164 FROM customers_phonenumber")),
        "versions": query("SELECT count(*) FROM integration_sourcerecordversion"),
        "audit": query(
            "SELECT action, content_type_id, count(*) FROM core_auditevent WHERE origin = 'import' "
            "GROUP BY action, content_type_id ORDER BY action, content_type_id"
        ),
    }


def wait_for(query, predicate, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            rows = query("SELECT status, rows_done FROM integration_importrun")
        except Exception:  # the table may be locked or not there yet
            rows = []
        if rows and predicate(*rows[0]):
            return
        time.sleep(0.01)
    raise AssertionError("the import did not get there in time")


def test_killed_import_resumes_to_the_same_result(database, tmp_path):
    url, query = database
    csv_path = tmp_path / "customers.csv"
    stats = write_messy_csv(csv_path, ROWS, seed=5, broken_every=40)
    assert stats["rows"] == ROWS

    prepare(url, tmp_path)
    run_args = ["import", "run", str(csv_path), "--source", "Shop", "--region", "DE"]
    run_args += ["--batch-size", str(BATCH), "--no-progress", "--user", "importer"]

    kills = 0
    process = patron(url, tmp_path, *run_args, wait=False)
    for target in KILL_AT:
        wait_for(query, lambda status, done, t=target: status == "running" and done >= t)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        kills += 1
        done = query("SELECT rows_done FROM integration_importrun")[0][0]
        assert done < ROWS, "the run finished before it could be killed"
        process = patron(
            url,
            tmp_path,
            "import",
            "resume",
            "1",
            "--force",
            "--no-progress",
            "--batch-size",
            str(BATCH),
            wait=False,
        )
    out, _ = process.communicate(timeout=300)
    assert process.returncode == 0, out
    assert kills == len(KILL_AT)
    interrupted = outcome(query)

    # The same import without interruption, in a second fresh database.
    reference = _reference(tmp_path, run_args)
    assert interrupted == reference
    assert interrupted["runs"][0][0] == "completed"
    assert interrupted["runs"][0][1] == ROWS
    assert interrupted["quarantine"], "the messy file has broken rows"


def _reference(tmp_path: Path, run_args: list[str]) -> dict[str, Any]:
    suite = _suite_url()
    ref_tmp = tmp_path / "reference"
    ref_tmp.mkdir()
    if suite.startswith("postgres"):
        import psycopg

        base = suite.rsplit("/", 1)[0]
        name = f"patron_crashref_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = f"{base}/{name}"
            prepare(url, ref_tmp)
            patron(url, ref_tmp, *run_args)

            def query(sql: str) -> list[tuple]:
                with psycopg.connect(url) as conn:
                    return list(conn.execute(sql).fetchall())

            return outcome(query)
        finally:
            with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    path = ref_tmp / "reference.sqlite3"
    url = f"sqlite:///{path}"
    prepare(url, ref_tmp)
    patron(url, ref_tmp, *run_args)

    def sqlite_query(sql: str) -> list[tuple]:
        conn = sqlite3.connect(path)
        try:
            return list(conn.execute(sql).fetchall())
        finally:
            conn.close()

    return outcome(sqlite_query)
