# ruff: noqa: F811 - the shared fixtures are imported from test_databases and used as arguments
"""Database syncs that must not lose rows: a resumed run reads on by value, rows that tie
with the mark are read again, a LIMIT cannot stall a source, long marks and marks left
empty are said, and "Sync now" runs as the person who clicked.

The external databases are the ones `test_databases` sets up (a scratch PostgreSQL database,
MariaDB's `test` database).
"""

from __future__ import annotations

import gc

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from patron.core.models import AuditEvent
from patron.core.tests.factories import UserFactory, role
from patron.customers.models import Contact
from patron.integration import databases, services
from patron.integration.databases import source_sync
from patron.integration.models import (
    ImportRun,
    QuarantinedRow,
    Source,
    SourceRecord,
    SourceRecordVersion,
)
from patron.integration.tests.test_databases import (  # noqa: F401 - fixtures
    ENV,
    T,
    emails_of,
    external,
    make_source,
    mapped_source,
    mariadb_test,
    names,
    postgres_scratch,
    postgres_table,
)

pytestmark = pytest.mark.django_db


class Killed(BaseException):
    """The process dies after a committed batch."""


def _kill_after(batches: int):
    seen = []

    def progress(run: ImportRun) -> None:
        seen.append(run.rows_done)
        if len(seen) == batches:
            raise Killed

    return progress


def _crash(source: Source, actor, *, batches: int, batch_size: int) -> ImportRun:
    with pytest.raises(Killed):
        source_sync(
            source_id=source.pk,
            actor=actor,
            progress=_kill_after(batches),
            batch_size=batch_size,
        )
    gc.collect()  # the reader left suspended closes its connection
    return ImportRun.objects.get(source=source)


def _keys(source: Source) -> list[str]:
    return sorted(SourceRecord.objects.filter(source=source).values_list("source_key", flat=True))


# --- resuming ---------------------------------------------------------------------------------


def test_resume_reads_on_by_value_when_a_committed_row_changed_meanwhile(admin_user, external):
    source = mapped_source(admin_user, external)
    run = _crash(source, admin_user, batches=1, batch_size=2)
    assert (run.status, run.rows_done) == ("running", 2)
    assert _keys(source) == ["C-001", "C-002"]
    # Before the run resumes, the other system changes C-001: it moves to the end of the order,
    # so by position the third row to read is no longer C-003 but C-004.
    external.execute(
        f"UPDATE {external.table} SET email = %s, updated_at = %s WHERE customer_no = %s",
        ("ada@lovelace.example", T(2024, 6, 1), "C-001"),
    )

    run = services.import_process(run.pk, force=True, batch_size=2)

    assert run.status == "completed"
    assert _keys(source) == ["C-001", "C-002", "C-003", "C-005"]
    assert ("Alan", "Turing") in names()
    assert QuarantinedRow.objects.get(run=run).raw["customer_no"] == "C-004"
    # C-001, C-002; then C-002 again (the last written row, unchanged), C-003, C-004, C-005
    # and C-001 again
    assert run.rows_done == 7
    assert (run.created_count, run.updated_count, run.quarantined_count) == (4, 1, 1)
    ada = SourceRecord.objects.get(source=source, source_key="C-001").contact
    assert emails_of(ada) == ["ada@lovelace.example"]
    assert run.high_water_mark == "2024-06-01T00:00:00"
    source.refresh_from_db()
    assert source.high_water_mark == "2024-06-01T00:00:00"


def test_resume_is_recorded_in_the_batch_it_follows(admin_user, postgres_table):
    source = mapped_source(admin_user, postgres_table)
    run = _crash(source, admin_user, batches=2, batch_size=2)
    assert run.rows_done == 4
    # The row that ends the last committed batch, by the values it is ordered by, and the
    # highest mark read up to it; rows recorded before the last checkpoint are dropped.
    recorded = run.options[databases.RESUME]
    assert recorded["order"] == ["updated_at", "customer_no"]
    assert recorded["at"]["4"] == {
        "after": ["2024-01-03T08:00:00", "C-004"],
        "mark": "2024-01-03T08:00:00",
    }
    assert set(recorded["at"]) == {"2", "4"}  # "4" was recorded before it was committed


@pytest.mark.parametrize("batches", [1, 2])
def test_resume_across_rows_without_a_mark_reads_each_row_once(admin_user, external, batches):
    """NULL sorts last on PostgreSQL and first on MariaDB: either way, a run resumed in the
    middle of the rows without a mark, or right after them, writes each row once (it reads
    the last row written before the crash again, which changes nothing)."""
    if external.dialect == "postgresql":
        external.execute(f"ALTER TABLE {external.table} ALTER COLUMN updated_at DROP NOT NULL")
    else:
        external.execute(f"ALTER TABLE {external.table} MODIFY updated_at DATETIME(6) NULL")
    external.execute(
        f"UPDATE {external.table} SET updated_at = NULL WHERE customer_no IN ('C-002', 'C-005')"
    )
    source = mapped_source(admin_user, external)
    run = _crash(source, admin_user, batches=batches, batch_size=2)
    assert run.rows_done == 2 * batches

    run = services.import_process(run.pk, force=True, batch_size=2)

    # Five rows, and the last one written before the crash once more (unchanged).
    assert (run.status, run.rows_done) == ("completed", 6)
    assert (run.created_count, run.updated_count, run.quarantined_count) == (4, 0, 1)
    assert _keys(source) == ["C-001", "C-002", "C-003", "C-005"]
    assert SourceRecordVersion.objects.count() == 0
    assert run.high_water_mark == "2024-01-03T08:00:00"


def test_resume_without_a_recorded_row_reads_again_from_the_start(admin_user, postgres_table):
    """A run stopped before rows were recorded (an older Patron) reads from its starting
    mark again: the rows it wrote come back unchanged, none is lost or doubled."""
    source = mapped_source(admin_user, postgres_table)
    run = _crash(source, admin_user, batches=1, batch_size=2)
    ImportRun.objects.filter(pk=run.pk).update(
        options={k: v for k, v in run.options.items() if k != databases.RESUME}
    )

    run = services.import_process(run.pk, force=True, batch_size=2)

    assert run.status == "completed"
    assert (run.created_count, run.unchanged_count, run.quarantined_count) == (4, 2, 1)
    assert _keys(source) == ["C-001", "C-002", "C-003", "C-005"]
    assert Contact.objects.count() == 4


# --- rows that tie with the mark --------------------------------------------------------------


def test_a_row_written_later_with_the_very_mark_is_read(admin_user, external):
    source = mapped_source(admin_user, external)
    first = source_sync(source_id=source.pk, actor=admin_user)
    assert first is not None and first.high_water_mark == "2024-01-04T09:00:00"
    versions = dict(Contact.objects.values_list("pk", "version"))
    # Written after the sync, with the timestamp of the last row it read.
    external.insert(
        [("C-007", "Dorothy Vaughan", "dorothy@example.com", None, None, None, T(2024, 1, 4, 9))]
    )

    second = source_sync(source_id=source.pk, actor=admin_user)

    assert second is not None and second.status == "completed"
    assert second.rows_done == 2  # C-005 again, and C-007
    assert (second.created_count, second.updated_count, second.unchanged_count) == (1, 0, 1)
    assert ("Dorothy", "Vaughan") in names()
    assert SourceRecordVersion.objects.count() == 0
    assert {pk: v for pk, v in Contact.objects.values_list("pk", "version") if pk in versions} == (
        versions
    )
    assert second.high_water_mark == "2024-01-04T09:00:00"

    third = source_sync(source_id=source.pk, actor=admin_user)
    assert third is not None
    assert (third.rows_done, third.unchanged_count, third.created_count) == (2, 2, 0)
    assert SourceRecord.objects.filter(source=source).count() == 5


# --- LIMIT ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "word"),
    [
        ("SELECT * FROM t ORDER BY updated_at LIMIT 3", "LIMIT"),
        ("SELECT * FROM t ORDER BY updated_at LIMIT 3 OFFSET 1", "LIMIT"),
        ("SELECT * FROM t LIMIT 1, 3", "LIMIT"),
        ("SELECT * FROM t OFFSET 10", "OFFSET"),
        ("SELECT * FROM t ORDER BY updated_at FETCH FIRST 3 ROWS ONLY", "FETCH"),
        ("(SELECT * FROM t ORDER BY updated_at LIMIT 3)", "LIMIT"),
        ("SELECT * FROM t UNION ALL SELECT * FROM u LIMIT 3", "LIMIT"),
        ("SELECT * FROM (SELECT * FROM t LIMIT 3) AS recent", "LIMIT"),
        ("WITH recent AS (SELECT * FROM t LIMIT 3) SELECT * FROM recent", "LIMIT"),
        ("SELECT * FROM t", ""),
        ("SELECT a, (SELECT b FROM u WHERE u.id = t.id LIMIT 1) AS b FROM t", ""),
        ("SELECT * FROM t WHERE id IN (SELECT id FROM u LIMIT 3)", ""),
        ('SELECT "limit", `offset` FROM t -- LIMIT 3', ""),
        ("SELECT * FROM t WHERE note = 'LIMIT 3'", ""),
        ("customers", ""),
    ],
)
def test_row_limit_finds_a_limit_on_the_rows_of_the_query(query, word):
    assert databases.row_limit(query) == word


def test_a_limit_with_a_high_water_column_is_refused(admin_user):
    data = {
        "name": "Recent",
        "kind": "database",
        "connection_env": ENV,
        "query": "SELECT * FROM t ORDER BY updated_at LIMIT 3",
    }
    with pytest.raises(ValidationError) as caught:
        services.source_create(actor=admin_user, data={**data, "high_water_column": "updated_at"})
    assert caught.value.message_dict == {
        "query": [
            "The query's rows are cut by LIMIT, which cannot be combined with a high-water "
            "column: Patron reads the rows above the mark out of what the query returns, so "
            "once LIMIT has cut them later syncs read nothing. Remove LIMIT (Patron reads in "
            "batches by itself) or clear the high-water column."
        ]
    }
    assert not Source.objects.filter(name="Recent").exists()
    # Without a high-water column every sync reads the whole query: the LIMIT is the user's.
    assert services.source_create(actor=admin_user, data=data).query == data["query"]


def test_a_source_with_a_limit_saved_before_is_refused_at_sync(admin_user, postgres_table):
    source = mapped_source(admin_user, postgres_table)
    Source.objects.filter(pk=source.pk).update(
        query=f"SELECT * FROM {postgres_table.table} ORDER BY updated_at LIMIT 3"
    )
    with pytest.raises(ValidationError, match="cut by LIMIT"):
        source_sync(source_id=source.pk, actor=admin_user)
    assert source.runs.count() == 0


# --- marks too long, marks left empty -----------------------------------------------------------


def test_a_mark_longer_than_patron_keeps_fails_before_its_rows_are_written(
    admin_user, postgres_table
):
    postgres_table.execute(f"ALTER TABLE {postgres_table.table} ADD COLUMN version TEXT")
    postgres_table.execute(f"UPDATE {postgres_table.table} SET version = repeat('v', 101)")
    source = mapped_source(admin_user, postgres_table, high_water_column="version")
    with pytest.raises(ValidationError, match="longer than 100 characters"):
        source_sync(source_id=source.pk, actor=admin_user)
    run = ImportRun.objects.get(source=source)
    assert (run.status, run.rows_done, run.created_count) == ("failed", 0, 0)
    assert "longer than 100 characters" in run.error
    assert Contact.objects.count() == 0
    source.refresh_from_db()
    assert source.high_water_mark == ""


def test_rows_without_a_mark_after_the_first_sync_are_warned_about(
    admin_user, client, postgres_table
):
    table = postgres_table.table
    postgres_table.execute(f"ALTER TABLE {table} ALTER COLUMN updated_at DROP NOT NULL")
    source = mapped_source(admin_user, postgres_table)
    first = source_sync(source_id=source.pk, actor=admin_user)
    assert first is not None and databases.run_warnings(first) == []
    postgres_table.insert([("C-008", "No Mark", None, None, None, None, None)])

    second = source_sync(source_id=source.pk, actor=admin_user)

    assert second is not None and second.status == "completed"
    assert second.created_count == 0  # C-008 is not read
    warning = (
        "1 rows of the query have no updated_at: syncs after the first do not read them, so a "
        "row added or changed since without a updated_at is not imported. Fill updated_at in "
        "the other system, or clear the high-water column to read every row on each sync."
    )
    assert databases.run_warnings(second) == [warning]
    client.force_login(admin_user)
    page = client.get(f"/imports/sources/{source.pk}/").content.decode()
    assert f"The last sync (#{second.pk}) could not read every row." in page
    assert "1 rows of the query have no updated_at" in page


# --- who a sync acts for ----------------------------------------------------------------------


def test_sync_now_runs_as_the_person_who_clicked(
    admin_user, manager_north, postgres_table, django_capture_on_commit_callbacks
):
    source = mapped_source(admin_user, postgres_table)
    with django_capture_on_commit_callbacks(execute=True):
        services.source_sync_start(actor=manager_north, source=source)

    run = ImportRun.objects.get(source=source)
    assert (run.status, run.created_by, run.created_count) == ("completed", manager_north, 4)
    run_event = AuditEvent.objects.get(content_type__model="importrun", object_id=run.pk)
    assert run_event.actor == manager_north
    created = AuditEvent.objects.filter(content_type__model="contact", action="create")
    assert set(created.values_list("actor", flat=True)) == {manager_north.pk}


def test_sync_now_matches_emails_only_among_customers_the_clicker_may_change(
    admin_user, manager_north, rep_south, postgres_table, django_capture_on_commit_callbacks
):
    from patron.customers import services as customers

    theirs = customers.contact_create(
        actor=rep_south,
        data={"first_name": "Ada", "last_name": "Lovelace", "owner": rep_south},
        emails=[{"email": "ada@example.com"}],
    )
    source = mapped_source(admin_user, postgres_table)
    with django_capture_on_commit_callbacks(execute=True):
        services.source_sync_start(actor=manager_north, source=source)

    ada = SourceRecord.objects.get(source=source, source_key="C-001")
    assert ada.contact_id != theirs.pk  # South's contact is out of the North manager's reach
    assert Contact.objects.filter(emailaddresss__email="ada@example.com").count() == 2


def test_sync_now_needs_permission_to_add_the_sources_records(
    admin_user, postgres_table, django_capture_on_commit_callbacks
):
    marketer = UserFactory(username="marketer", role=role("marketer"))
    source = make_source(admin_user, postgres_table, entity="account")
    with (
        pytest.raises(PermissionDenied, match="account.add"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.source_sync_start(actor=marketer, source=source)
    assert source.runs.count() == 0


def test_scheduled_sync_still_acts_for_the_person_who_set_it_up(admin_user, postgres_table):
    from patron.integration import tasks

    source = mapped_source(admin_user, postgres_table)
    tasks.source_sync_task.call(source.pk)
    assert ImportRun.objects.get(source=source).created_by == admin_user


def test_a_scheduled_sync_for_a_deactivated_account_says_so(admin_user, postgres_table):
    """Its reach is nobody's: rather than refuse every change as forbidden, the sync stops
    before it starts, with what to do."""
    from patron.integration import tasks

    source = mapped_source(admin_user, postgres_table)
    admin_user.is_active = False
    admin_user.save()
    with pytest.raises(ValidationError, match="whose account is deactivated"):
        tasks.source_sync_task.call(source.pk)
    assert not ImportRun.objects.filter(source=source).exists()


def test_resume_loses_no_row_when_the_tie_breaker_repeats(admin_user, external):
    """Rows ordered by a mark they share and a tie-breaker that is not unique (a query with
    no key column, whose first column is a region): a resumed run reads on from the last
    written row's values inclusive, so no unread row that shares them is skipped."""
    external.execute(f"UPDATE {external.table} SET updated_at = %s", (T(2024, 1, 1, 9, 0),))
    source = make_source(
        admin_user,
        external,
        query=f"SELECT 'EU' AS region, full_name, email, updated_at FROM {external.table}",
    )
    mapping = [
        {"column": "region", "target": ""},
        {"column": "full_name", "target": "contact.full_name", "transform": "full_name"},
        {"column": "email", "target": "email"},
        {"column": "updated_at", "target": ""},
    ]
    services.mapping_save(actor=admin_user, source=source, columns=mapping, options={})
    run = _crash(source, admin_user, batches=1, batch_size=2)
    assert run.rows_done == 2

    run = services.import_process(run.pk, force=True, batch_size=2)

    assert run.status == "completed"
    assert names() == {
        ("Ada", "Lovelace"),
        ("Grace", "Hopper"),
        ("Alan", "Turing"),
        ("Katherine", "Johnson"),
    }
    assert Contact.objects.count() == 4  # none twice
