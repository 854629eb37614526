"""Downloads of the contact and account lists (CSV, XLSX, JSON, vCard) from the UI and the API,
and a contact's vCard: exact content, formula neutralisation, permissions, streaming."""

import csv
import datetime
import io
import json

import openpyxl
import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext

from patron.core.tests.factories import CustomFieldFactory
from patron.customers import services
from patron.customers.models import Contact
from patron.integration.vcard import contact_uid, read_vcards

FORMULAS = ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1+1"]
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "vcf": "text/vcard; charset=utf-8",
}


def make_contact(actor, first="Ada", last="Lovelace", **extra):
    return services.contact_create(
        actor=actor, data={"first_name": first, "last_name": last, **extra.pop("data", {})}, **extra
    )


def body(response) -> bytes:
    assert isinstance(response, StreamingHttpResponse)
    return response.getvalue()


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body(response).decode())))


def xlsx_rows(response) -> list[list]:
    sheet = openpyxl.load_workbook(io.BytesIO(body(response))).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


@pytest.fixture
def tier(db):
    return CustomFieldFactory(
        name="tier", label="Tier", field_type="choice", choices=["Gold", "Silver"]
    )


@pytest.fixture
def people(rep_north, rep_north_2, rep_south, tier):
    """Three leads of the North team, a customer, and a lead of the South team."""
    engines = services.account_create(actor=rep_north, data={"name": "Analytical Engines"})
    ada = make_contact(
        rep_north,
        "Ada",
        "Lovelace",
        tags=["VIP", "Board"],
        emails=[{"email": "ada@example.com"}],
        phones=[{"number": "+44 20 7946 0018"}],
        data={"job_title": "Analyst", "custom_fields": {"tier": "Gold"}},
    )
    services.relationship_add(
        actor=rep_north, contact=ada, account=engines, data={"is_primary": True}
    )
    charles = make_contact(rep_north_2, "Charles", "Babbage", data={"job_title": "Inventor"})
    grace = make_contact(rep_north, "Grace", "Hopper", data={"lifecycle_stage": "customer"})
    secret = make_contact(rep_south, "Secret", "Southerner")
    return {"ada": ada, "charles": charles, "grace": grace, "secret": secret, "engines": engines}


# --- the UI downloads -------------------------------------------------------------------------


@pytest.mark.django_db
def test_csv_of_a_filtered_sorted_list(client, rep_north, people):
    client.force_login(rep_north)
    response = client.get("/contacts/export.csv?lifecycle_stage=lead&ordering=-name")
    assert response.status_code == 200
    assert response["Content-Type"] == FORMATS["csv"]
    assert response["Content-Disposition"].startswith('attachment; filename="contacts-')
    assert response["Content-Disposition"].endswith('.csv"')
    rows = csv_rows(response)
    assert rows[0] == [
        "id",
        "prefix",
        "first_name",
        "middle_name",
        "last_name",
        "job_title",
        "lifecycle_stage",
        "email",
        "phone",
        "accounts",
        "owner",
        "team",
        "tags",
        "created_at",
        "updated_at",
        "Tier",
    ]
    ada, charles = people["ada"], people["charles"]
    assert [r[4] for r in rows[1:]] == ["Lovelace", "Babbage"]  # -name, customer left out
    assert rows[1] == [
        str(ada.pk),
        "",
        "Ada",
        "",
        "Lovelace",
        "Analyst",
        "Lead",
        "ada@example.com",
        "'+442079460018",  # starts with "+": neutralised like any other cell
        "Analytical Engines",
        rep_north.display_name,
        "North",
        "Board; VIP",
        ada.created_at.isoformat(),
        ada.updated_at.isoformat(),
        "Gold",
    ]
    assert rows[2][:6] == [str(charles.pk), "", "Charles", "", "Babbage", "Inventor"]
    assert rows[2][-1] == ""


@pytest.mark.django_db
def test_xlsx_of_a_filtered_list_opens_in_openpyxl(client, rep_north, people):
    client.force_login(rep_north)
    response = client.get("/contacts/export.xlsx?lifecycle_stage=lead&q=lovelace")
    assert response.status_code == 200
    assert response["Content-Type"] == FORMATS["xlsx"]
    assert response["Content-Disposition"].endswith('.xlsx"')
    workbook = openpyxl.load_workbook(io.BytesIO(body(response)))
    sheet = workbook.active
    assert sheet.title == "Contacts"
    assert sheet.freeze_panes == "A2"
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert len(rows) == 2
    assert rows[0][:5] == ["id", "prefix", "first_name", "middle_name", "last_name"]
    assert rows[0][-1] == "Tier"
    ada = people["ada"]
    assert rows[1] == [
        ada.pk,  # a number stays a number
        None,
        "Ada",
        None,
        "Lovelace",
        "Analyst",
        "Lead",
        "ada@example.com",
        "'+442079460018",  # starts with "+": neutralised like any other cell
        "Analytical Engines",
        rep_north.display_name,
        "North",
        "Board; VIP",
        ada.created_at.isoformat(),
        ada.updated_at.isoformat(),
        "Gold",
    ]
    assert [sheet.cell(row=2, column=c).data_type for c in (1, 3, 9)] == ["n", "s", "s"]


@pytest.mark.django_db
def test_json_of_a_filtered_list_is_one_array(client, rep_north, people):
    client.force_login(rep_north)
    response = client.get("/contacts/export.json?tag=vip")
    assert response.status_code == 200
    assert response["Content-Type"] == FORMATS["json"]
    ada = people["ada"]
    assert json.loads(body(response)) == [
        {
            "id": ada.pk,
            "prefix": "",
            "first_name": "Ada",
            "middle_name": "",
            "last_name": "Lovelace",
            "job_title": "Analyst",
            "lifecycle_stage": "Lead",
            "email": "ada@example.com",
            "phone": "+442079460018",
            "accounts": ["Analytical Engines"],
            "owner": rep_north.display_name,
            "team": "North",
            "tags": ["Board", "VIP"],
            "created_at": ada.created_at.isoformat(),
            "updated_at": ada.updated_at.isoformat(),
            "custom_fields": {"tier": "Gold"},
        }
    ]
    empty = client.get("/contacts/export.json?q=nobody-at-all")
    assert json.loads(body(empty)) == []


@pytest.mark.django_db
def test_vcard_of_a_filtered_list(client, rep_north, people):
    client.force_login(rep_north)
    response = client.get("/contacts/export.vcf?lifecycle_stage=lead")
    assert response.status_code == 200
    assert response["Content-Type"] == FORMATS["vcf"]
    assert response["Content-Disposition"].endswith('.vcf"')
    cards = [card for _, card in read_vcards(io.BytesIO(body(response)))]
    assert [c["fn"] for c in cards] == ["Charles Babbage", "Ada Lovelace"]
    assert cards[1]["uid"] == contact_uid(people["ada"].pk)
    assert cards[1]["org"] == "Analytical Engines"
    assert cards[1]["email.work"] == "ada@example.com"
    assert cards[1]["tel.cell"] == "+442079460018"


@pytest.mark.django_db
def test_account_exports_follow_filters_with_custom_columns(client, rep_north):
    CustomFieldFactory(object_type="account", name="seats", label="Seats", field_type="number")
    services.account_create(
        actor=rep_north,
        data={
            "name": '=HYPERLINK("http://evil")',
            "industry": "Software",
            "employee_count": 12,
            "annual_revenue": "1000.50",
            "custom_fields": {"seats": 40},
        },
    )
    services.account_create(actor=rep_north, data={"name": "Bakery", "industry": "Food"})
    client.force_login(rep_north)
    rows = csv_rows(client.get("/accounts/export.csv?industry=software"))
    assert rows[0][:6] == ["id", "name", "domain", "industry", "employees", "annual_revenue"]
    assert rows[0][-1] == "Seats"
    assert [r[1:6] + r[-1:] for r in rows[1:]] == [
        ['\'=HYPERLINK("http://evil")', "", "Software", "12", "1000.50", "40"]
    ]
    sheet = xlsx_rows(client.get("/accounts/export.xlsx?industry=software"))
    assert sheet[1][1:6] + sheet[1][-1:] == [
        '\'=HYPERLINK("http://evil")',
        None,
        "Software",
        12,
        1000.5,
        40,
    ]
    data = json.loads(body(client.get("/accounts/export.json?industry=software")))
    assert [(a["name"], a["annual_revenue"], a["custom_fields"]) for a in data] == [
        ('=HYPERLINK("http://evil")', "1000.50", {"seats": 40})  # JSON is not a spreadsheet
    ]
    assert client.get("/accounts/export.vcf").status_code == 404  # vCards are for people


@pytest.mark.django_db
def test_formulas_are_neutralised_in_csv_and_xlsx(client, rep_north):
    for i, formula in enumerate(FORMULAS):
        make_contact(rep_north, formula, f"Person{i}", data={"job_title": formula})
    client.force_login(rep_north)
    expected = ["'" + f for f in FORMULAS]
    # In CSV the "=" after the tab is guarded too: split at the tab, it would start a cell.
    expected_csv = [*expected[:-1], "'\t'=1+1"]
    rows = csv_rows(client.get("/contacts/export.csv?ordering=name"))
    assert [r[2] for r in rows[1:]] == expected_csv
    assert [r[5] for r in rows[1:]] == expected_csv
    sheet = xlsx_rows(client.get("/contacts/export.xlsx?ordering=name"))
    assert [r[2] for r in sheet[1:]] == expected
    assert [r[5] for r in sheet[1:]] == expected
    data = json.loads(body(client.get("/contacts/export.json?ordering=name")))
    assert [r["first_name"] for r in data] == FORMULAS


@pytest.mark.django_db
def test_a_rep_exports_only_the_records_they_may_see(client, rep_north, people):
    client.force_login(rep_north)
    names = {
        "csv": lambda r: {row[2] for row in csv_rows(r)[1:]},
        "xlsx": lambda r: {row[2] for row in xlsx_rows(r)[1:]},
        "json": lambda r: {row["first_name"] for row in json.loads(body(r))},
        "vcf": lambda r: {c["n.given"] for _, c in read_vcards(io.BytesIO(body(r)))},
    }
    for fmt, read in names.items():
        assert read(client.get(f"/contacts/export.{fmt}")) == {"Ada", "Charles", "Grace"}, fmt


@pytest.mark.django_db
def test_read_only_role_is_refused_every_export(client, readonly_user, people):
    client.force_login(readonly_user)
    assert client.get("/contacts/").status_code == 200  # may look...
    for url in [*(f"/contacts/export.{f}" for f in FORMATS), "/accounts/export.csv"]:
        response = client.get(url)
        assert response.status_code == 403, url  # ...but not take the data away
        assert "You can’t do that" in response.content.decode()
    ada = people["ada"]
    assert client.get(f"/contacts/{ada.pk}/vcard/").status_code == 403
    html = client.get("/contacts/").content.decode()
    assert "export-menu" not in html and "/contacts/export." not in html
    assert "Download vCard" not in client.get(f"/contacts/{ada.pk}/").content.decode()


@pytest.mark.django_db
def test_unknown_format_and_bad_filter(client, rep_north):
    client.force_login(rep_north)
    assert client.get("/contacts/export.pdf").status_code == 404
    response = client.get("/contacts/export.xlsx?ordering=shoe_size")
    assert response.status_code == 400
    assert response.content.decode().startswith("ordering: Order by one of:")


@pytest.mark.django_db
def test_exports_read_a_fixed_number_of_queries(client, rep_north):
    """However many rows: the rows, then one query per related table and chunk."""
    client.force_login(rep_north)

    def count(fmt):
        with CaptureQueriesContext(connection) as ctx:
            body(client.get(f"/contacts/export.{fmt}"))
        return len(ctx.captured_queries)

    def add(n, start):
        for i in range(start, start + n):
            make_contact(
                rep_north,
                f"P{i}",
                "Person",
                tags=["VIP"],
                emails=[{"email": f"p{i}@example.com"}],
                phones=[{"number": f"+4420794601{i:02d}"}],
                addresses=[{"street": f"{i} Main St", "city": "London"}],
            )

    add(2, 0)
    few = {fmt: count(fmt) for fmt in FORMATS}
    add(20, 2)
    assert {fmt: count(fmt) for fmt in FORMATS} == few


@pytest.mark.django_db
def test_list_pages_offer_every_format_for_the_current_filter(client, rep_north):
    client.force_login(rep_north)
    html = client.get("/contacts/?q=ada&ordering=-name").content.decode()
    assert 'id="export-menu"' in html
    for fmt in FORMATS:
        assert f'href="/contacts/export.{fmt}?q=ada&amp;ordering=-name"' in html
    html = client.get("/accounts/?industry=food").content.decode()
    for fmt in ("csv", "xlsx", "json"):
        assert f'href="/accounts/export.{fmt}?industry=food"' in html
    assert "/accounts/export.vcf" not in html


# --- a contact's vCard ------------------------------------------------------------------------


@pytest.mark.django_db
def test_contact_page_downloads_its_vcard(client, rep_north, people):
    ada = people["ada"]
    client.force_login(rep_north)
    html = client.get(f"/contacts/{ada.pk}/").content.decode()
    assert f'href="/contacts/{ada.pk}/vcard/"' in html and "Download vCard" in html
    response = client.get(f"/contacts/{ada.pk}/vcard/")
    assert response.status_code == 200
    assert response["Content-Type"] == FORMATS["vcf"]
    assert response["Content-Disposition"] == 'attachment; filename="ada-lovelace.vcf"'
    text = response.content.decode()
    assert text.startswith("BEGIN:VCARD\r\nVERSION:4.0\r\n")
    assert "FN:Ada Lovelace\r\n" in text
    assert "ORG:Analytical Engines\r\n" in text
    account_html = client.get(f"/accounts/{people['engines'].pk}/").content.decode()
    assert "Download vCard" not in account_html


@pytest.mark.django_db
def test_vcard_of_a_contact_one_may_not_see_is_404(client, rep_north, people):
    client.force_login(rep_north)
    assert client.get(f"/contacts/{people['secret'].pk}/vcard/").status_code == 404


# --- the API ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_export_in_every_format(api_as, rep_north, people):
    api = api_as(rep_north)
    response = api.get("/contacts/export", {"format": "csv", "lifecycle_stage": "lead"})
    assert response.status_code == 200
    assert response["Content-Type"] == FORMATS["csv"]
    assert {r[4] for r in csv_rows(response)[1:]} == {"Lovelace", "Babbage"}
    response = api.get("/contacts/export")  # CSV unless asked otherwise
    assert response["Content-Type"] == FORMATS["csv"]
    response = api.get("/contacts/export", {"format": "xlsx", "ordering": "-first_name"})
    assert [r[2] for r in xlsx_rows(response)[1:]] == ["Grace", "Charles", "Ada"]
    response = api.get("/contacts/export", {"format": "json", "cf_tier": "Gold"})
    assert [r["id"] for r in json.loads(body(response))] == [people["ada"].pk]
    response = api.get("/contacts/export", {"format": "vcf", "q": "hopper"})
    assert [c["fn"] for _, c in read_vcards(io.BytesIO(body(response)))] == ["Grace Hopper"]
    response = api.get("/accounts/export", {"format": "json"})
    assert [a["name"] for a in json.loads(body(response))] == ["Analytical Engines"]


@pytest.mark.django_db
def test_api_export_refuses_what_the_list_refuses(api_as, rep_north, readonly_user):
    api = api_as(rep_north)
    response = api.get("/contacts/export", {"limit": "10"})
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "limit", "message": "Unknown parameter."}]
    assert api.get("/contacts/export", {"format": "pdf"}).status_code == 422
    assert api.get("/accounts/export", {"format": "vcf"}).status_code == 422
    assert api.get("/contacts/export", {"ordering": "shoe"}).status_code == 422
    response = api_as(readonly_user).get("/contacts/export", {"format": "json"})
    assert response.status_code == 403
    assert response.json()["detail"] == "Your role does not allow exporting contacts."


@pytest.mark.django_db
def test_api_export_is_in_the_openapi_document(api_as, rep_north):
    schema = api_as(rep_north).get("/openapi.json").json()
    operation = schema["paths"]["/api/contacts/export"]["get"]
    assert set(operation["responses"]["200"]["content"]) == {
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/json",
        "text/vcard",
    }
    parameters = {p["name"] for p in operation["parameters"]}
    assert {"format", "q", "ordering", "lifecycle_stage"} <= parameters
    assert not {"cursor", "limit"} & parameters


@pytest.mark.django_db
def test_export_dates_are_iso_8601(client, rep_north):
    contact = make_contact(rep_north)
    Contact.objects.filter(pk=contact.pk).update(
        created_at=datetime.datetime(2024, 2, 29, 8, 30, tzinfo=datetime.UTC)
    )
    client.force_login(rep_north)
    rows = csv_rows(client.get("/contacts/export.csv"))
    assert rows[1][13] == "2024-02-29T08:30:00+00:00"


@pytest.mark.django_db
def test_empty_form_fields_are_no_filter_for_the_list_and_its_export(client, rep_north, people):
    """The filter form sends every field: "Any stage" is `lifecycle_stage=`, not an error."""
    client.force_login(rep_north)
    query = "q=lovelace&owner=&lifecycle_stage=&tag=&team=&cf_tier="
    html = client.get(f"/contacts/?{query}", HTTP_HX_REQUEST="true").content.decode()
    assert "Select a valid choice" not in html
    assert "Ada Lovelace" in html
    assert f'href="/contacts/export.csv?{query.replace("&", "&amp;")}"' in html
    rows = csv_rows(client.get(f"/contacts/export.csv?{query}"))
    assert [r[4] for r in rows[1:]] == ["Lovelace"]
