# ruff: noqa: F811 - the shared fixtures are imported from test_databases and used as arguments
"""Database sources and Patron's own secrets: who may choose what a source reads, which
environment variables it may never read, what error messages may show, and the connection
test in the API and on the source's page.

The external databases are the ones `test_databases` sets up (a scratch PostgreSQL database,
MariaDB's `test` database).
"""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from patron.core.tests.factories import UserFactory, role
from patron.integration import databases, services
from patron.integration.databases import source_sync, source_test_connection
from patron.integration.models import ImportRun, Source
from patron.integration.tests.test_databases import (  # noqa: F401 - fixtures
    ENV,
    external,
    make_source,
    mapped_source,
    mariadb_test,
    postgres_scratch,
    postgres_table,
)

pytestmark = pytest.mark.django_db

STEAL = "SELECT username, password FROM core_user"


@pytest.fixture
def marketer(team_north):
    return UserFactory(username="marketer_north", role=role("marketer"), team=team_north)


def _source_fields(source: Source) -> tuple[str, str]:
    source.refresh_from_db()
    return source.connection_env, source.query


# --- who may choose what a source reads ---------------------------------------------------------


def test_a_manager_may_not_create_a_source_that_reads_a_database(manager_north, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://patron@127.0.0.1:5432/patron")
    with pytest.raises(PermissionDenied, match="Only administrators"):
        services.source_create(
            actor=manager_north,
            data={"name": "Mine", "kind": "database", "connection_env": "BILLING_DB_URL"},
        )
    with pytest.raises(PermissionDenied, match="Only administrators"):
        services.source_create(
            actor=manager_north, data={"name": "Mine", "kind": "database", "query": STEAL}
        )
    assert not Source.objects.filter(name="Mine").exists()
    # A source without a connection is still theirs to add.
    created = services.source_create(actor=manager_north, data={"name": "Mine"})
    assert created.connection_env == ""


@pytest.mark.parametrize("field", ["connection_env", "query"])
def test_a_marketer_may_not_change_a_sources_connection_or_query(
    admin_user, marketer, postgres_table, field
):
    source = make_source(admin_user, postgres_table)
    before = _source_fields(source)
    value = {"connection_env": "OTHER_DB_URL", "query": STEAL}[field]
    with pytest.raises(PermissionDenied, match="Only administrators"):
        services.source_update(actor=marketer, source=source, data={field: value})
    assert _source_fields(Source.objects.get(pk=source.pk)) == before


def test_a_marketer_may_save_a_source_with_its_connection_unchanged(
    admin_user, marketer, postgres_table
):
    source = make_source(admin_user, postgres_table)
    # What the edit form sends: every field, the connection and the query as they were.
    services.source_update(
        actor=marketer,
        source=source,
        data={
            "name": "Billing (EU)",
            "connection_env": source.connection_env,
            "query": source.query,
            "sync_every_minutes": 30,
        },
    )
    source.refresh_from_db()
    assert (source.name, source.sync_every_minutes) == ("Billing (EU)", 30)
    assert _source_fields(source) == (ENV, postgres_table.table)


def test_an_administrator_may_change_the_connection(admin_user, postgres_table):
    source = make_source(admin_user, postgres_table)
    services.source_update(actor=admin_user, source=source, data={"connection_env": "SHOP_URL"})
    assert _source_fields(source) == ("SHOP_URL", postgres_table.table)


def test_testing_an_unsaved_connection_is_for_administrators(manager_north, postgres_table):
    source = Source(kind="database", connection_env=ENV, query=STEAL)
    with pytest.raises(PermissionDenied, match="Only administrators"):
        source_test_connection(actor=manager_north, source=source)


def test_testing_a_changed_but_unsaved_query_is_for_administrators(
    admin_user, manager_north, postgres_table
):
    source = make_source(admin_user, postgres_table)
    assert source_test_connection(actor=manager_north, source=source)["columns"][0] == (
        "customer_no"
    )
    source.query = f"SELECT email FROM {postgres_table.table}"
    with pytest.raises(PermissionDenied, match="Only administrators"):
        source_test_connection(actor=manager_north, source=source)


# --- variables a source may never read ----------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "DATABASE_URL",
        "database_url",
        "SECRET_KEY",
        "PATRON_SECRET_KEY",
        "PATRON_CACHE_URL",
        "PATRON_TEST_DB_NAME",
        "DJANGO_SETTINGS_MODULE",
        "AWS_SECRET_ACCESS_KEY",
        "GITHUB_TOKEN",
        "SMTP_PASSWORD",
    ],
)
def test_patrons_own_settings_and_secrets_are_refused(admin_user, name):
    with pytest.raises(ValidationError) as caught:
        services.source_create(
            actor=admin_user,
            data={"name": "Own", "kind": "database", "connection_env": name, "query": STEAL},
        )
    assert list(caught.value.message_dict) == ["connection_env"]
    assert caught.value.message_dict["connection_env"][0].startswith(f"{name} is ")
    assert not Source.objects.filter(name="Own").exists()


def test_a_source_saved_before_with_database_url_reads_nothing(
    admin_user, manager_north, monkeypatch
):
    source = services.source_create(
        actor=admin_user, data={"name": "Old", "kind": "database", "query": STEAL}
    )
    Source.objects.filter(pk=source.pk).update(connection_env="DATABASE_URL")
    source.refresh_from_db()
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/patron")
    with pytest.raises(ValidationError, match="DATABASE_URL is one of Patron's own settings"):
        source_test_connection(actor=manager_north, source=source)
    with pytest.raises(ValidationError, match="DATABASE_URL is one of Patron's own settings"):
        databases.database_run_start(actor=manager_north, source=source)  # "Map columns"
    assert ImportRun.objects.count() == 0


def test_a_variable_holding_patrons_database_url_is_refused(admin_user, monkeypatch):
    url = "postgresql://patron:pw@db.internal:5432/patron"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("COPY_OF_IT", url)
    with pytest.raises(ValidationError, match="COPY_OF_IT points at Patron's own database"):
        databases.external_database("COPY_OF_IT")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="Patron's own database is SQLite")
def test_a_url_to_patrons_own_postgresql_database_is_refused(admin_user, monkeypatch):
    own = connection.settings_dict
    # Spelled differently from Patron's settings: another scheme, localhost for 127.0.0.1.
    host = "localhost" if own["HOST"] in ("127.0.0.1", "", None) else own["HOST"]
    monkeypatch.setenv(
        "SNEAKY_URL", f"postgres://{own['USER']}@{host}:{own['PORT'] or 5432}/{own['NAME']}"
    )
    source = services.source_create(
        actor=admin_user,
        data={"name": "Sneaky", "kind": "database", "connection_env": "SNEAKY_URL", "query": STEAL},
    )
    with pytest.raises(ValidationError, match="SNEAKY_URL points at Patron's own database"):
        source_test_connection(actor=admin_user, source=source)


def test_an_unsupported_value_is_not_echoed(admin_user, postgres_table, monkeypatch):
    source = mapped_source(admin_user, postgres_table)
    monkeypatch.setenv(ENV, "sk_live_51HxAbCdEf:and-the-rest")
    with pytest.raises(ValidationError) as caught:
        source_test_connection(actor=admin_user, source=source)
    assert "sk_live" not in str(caught.value)
    assert caught.value.messages == [
        f"{ENV} does not hold a PostgreSQL (postgresql://…) or MariaDB/MySQL (mysql://…) URL, "
        "the databases Patron reads."
    ]


# --- what messages show -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:S3cr%ZZet@127.0.0.1:5432/db",  # libpq quotes the password it cannot read
        "postgresql://u:S3cr%25et@127.0.0.1:1/db",
        "mysql://root:S3cr%ZZet@127.0.0.1:1/db",
    ],
)
def test_the_password_never_appears_in_a_message(admin_user, postgres_table, monkeypatch, url):
    source = mapped_source(admin_user, postgres_table)
    monkeypatch.setenv(ENV, url)
    with pytest.raises(ValidationError) as caught:
        source_sync(source_id=source.pk, actor=admin_user)
    run = ImportRun.objects.get(source=source)
    for text in (str(caught.value), run.error):
        assert "Patron cannot connect to" in text
        for secret in ("S3cr%ZZet", "S3cr%25et", "S3cr%et", ":S3cr"):
            assert secret not in text
    assert run.status == "failed"


def test_scrub_removes_raw_and_decoded_passwords_and_user_information():
    db = databases.ExternalDatabase(
        dialect="postgresql", url="postgresql://ann:p%40ss-w0rd@h:5432/db", env_name="X"
    )
    said = 'bad "ann:p%40ss-w0rd" or "p@ss-w0rd" or "p%40ss-w0rd" in postgresql://ann:p%40ss-w0rd@h:5432/db'
    assert db.scrub(said) == 'bad "***" or "***" or "***" in postgresql://ann@h:5432/db'


@pytest.mark.parametrize(
    "url", ["postgresql://u:p@[::1/db", "postgresql://u:p@host:port/db", "mysql://u@h:99999/db"]
)
def test_a_malformed_url_is_a_clear_error_naming_the_variable(
    admin_user, postgres_table, monkeypatch, client, url
):
    source = mapped_source(admin_user, postgres_table)
    monkeypatch.setenv(ENV, url)
    expected = f"{ENV} does not hold a valid database URL"

    with pytest.raises(ValidationError, match=expected) as caught:
        source_sync(source_id=source.pk, actor=admin_user)
    assert url not in str(caught.value)
    assert ImportRun.objects.get(source=source).error.startswith(f"ValidationError: ['{expected}")

    client.force_login(admin_user)
    response = client.post(f"/imports/sources/{source.pk}/map/", follow=True)
    assert response.status_code == 200
    assert expected in response.content.decode()
    assert ImportRun.objects.filter(source=source).count() == 1  # no draft run either


# --- the connection test in the API and on the page ---------------------------------------------


def test_api_test_connection_shows_columns_and_first_rows(admin_user, marketer, api_as, external):
    source = make_source(admin_user, external)
    response = api_as(marketer).post(f"/sources/{source.pk}/test-connection")
    assert response.status_code == 200
    body = response.json()
    assert body["columns"] == [
        "customer_no",
        "full_name",
        "email",
        "phone",
        "birthday",
        "balance",
        "updated_at",
    ]
    assert sorted(r["customer_no"] for r in body["rows"]) == [f"C-00{i}" for i in range(1, 6)]
    assert (body["dialect"], body["high_water_column"]) == (external.dialect, "updated_at")
    assert ImportRun.objects.count() == 0


def test_api_test_connection_errors_and_permissions(
    admin_user, rep_north, readonly_user, api_as, postgres_table, monkeypatch
):
    source = make_source(admin_user, postgres_table)
    assert api_as(rep_north).post(f"/sources/{source.pk}/test-connection").status_code == 404
    file_source = services.source_create(actor=admin_user, data={"name": "Files"})
    response = api_as(admin_user).post(f"/sources/{file_source.pk}/test-connection")
    assert response.status_code == 400
    assert "Only a database source has a connection to test." in response.content.decode()

    monkeypatch.delenv(ENV)
    response = api_as(admin_user).post(f"/sources/{source.pk}/test-connection")
    assert response.status_code == 400
    assert f"The environment variable {ENV} is not set" in response.content.decode()


def test_api_test_connection_needs_change_permission(admin_user, api_as, postgres_table):
    viewer = UserFactory(username="source_viewer", role=role("read_only"))
    viewer.role.permissions = [*viewer.role.permissions, "source.view"]
    viewer.role.save()
    source = make_source(admin_user, postgres_table)
    response = api_as(viewer).post(f"/sources/{source.pk}/test-connection")
    assert response.status_code == 403


def test_page_button_tests_the_connection_in_place(admin_user, client, postgres_table):
    source = make_source(admin_user, postgres_table)
    client.force_login(admin_user)
    page = client.get(f"/imports/sources/{source.pk}/").content.decode()
    assert f'hx-post="/imports/sources/{source.pk}/test-connection/"' in page
    assert "Test connection" in page

    response = client.post(f"/imports/sources/{source.pk}/test-connection/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<code>customer_no</code>" in html
    assert "Ada Lovelace" in html
    assert "first 5 rows" in html

    followed = client.post(f"/imports/sources/{source.pk}/test-connection/", follow=True)
    assert "the query returns 7 columns (customer_no, full_name" in followed.content.decode()


def test_page_button_shows_what_is_wrong(admin_user, client, postgres_table, monkeypatch):
    source = make_source(admin_user, postgres_table)
    monkeypatch.setenv(ENV, "postgresql://nobody:s3cret@127.0.0.1:1/none")
    client.force_login(admin_user)
    response = client.post(f"/imports/sources/{source.pk}/test-connection/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "The connection test failed." in html
    assert "Patron cannot connect to postgresql://nobody@127.0.0.1:1/none" in html
    assert "s3cret" not in html


def test_page_button_needs_change_permission(admin_user, rep_north, client, postgres_table):
    source = make_source(admin_user, postgres_table)
    client.force_login(rep_north)
    response = client.post(f"/imports/sources/{source.pk}/test-connection/")
    assert response.status_code == 404
