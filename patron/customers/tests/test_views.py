"""Views of contacts and accounts: exact content, htmx partials, permissions, exports."""

import csv
import datetime
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from patron.core.models import User
from patron.core.tests.factories import CustomFieldFactory
from patron.customers import services
from patron.customers.models import Account, Contact, PhoneNumber, TimelineEntry

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "list-results"}


def make_contact(actor, first="Ada", last="Lovelace", **extra):
    return services.contact_create(
        actor=actor, data={"first_name": first, "last_name": last, **extra.pop("data", {})}, **extra
    )


def make_account(actor, name="Analytical Engines Ltd", **extra):
    return services.account_create(
        actor=actor, data={"name": name, **extra.pop("data", {})}, **extra
    )


# --- lists ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_list_requires_login(client):
    response = client.get("/contacts/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/contacts/"


@pytest.mark.django_db
def test_contact_list_renders_rows_with_email_phone_stage_and_tags(client, rep_north):
    make_contact(
        rep_north,
        tags=["VIP"],
        emails=[{"email": "ada@example.com"}],
        phones=[{"number": "+44 20 7946 0018"}],
        data={"lifecycle_stage": "customer"},
    )
    client.force_login(rep_north)
    response = client.get("/contacts/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Contacts</h1>" in html
    assert '<span class="name">Ada Lovelace</span>' in html
    assert "ada@example.com" in html
    assert "+44 20 7946 0018" in html
    assert '<span class="badge stage stage-customer">Customer</span>' in html
    assert ">VIP</span>" in html
    assert 'id="list-filters"' in html


@pytest.mark.django_db
def test_htmx_list_request_returns_only_the_table(client, rep_north):
    make_contact(rep_north)
    client.force_login(rep_north)
    response = client.get("/contacts/?q=ada", **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="list-results"')
    assert "<html" not in html
    assert "Ada Lovelace" in html
    assert (
        'id="export-menu-items" role="menu" aria-label="Export formats" hx-swap-oob="true"' in html
    )
    for fmt in ("csv", "xlsx", "json", "vcf"):
        assert f"/contacts/export.{fmt}?q=ada" in html


@pytest.mark.django_db
def test_list_search_filters_and_ordering(client, rep_north, rep_north_2):
    make_contact(rep_north, "Ada", "Lovelace", data={"lifecycle_stage": "customer"})
    make_contact(rep_north, "Charles", "Babbage", data={"lifecycle_stage": "lead"})
    make_contact(rep_north_2, "Grace", "Hopper", data={"lifecycle_stage": "customer"})
    client.force_login(rep_north)

    def names(url):
        html = client.get(url, **HTMX).content.decode()
        return [n for n in ("Ada Lovelace", "Charles Babbage", "Grace Hopper") if n in html]

    assert names("/contacts/?q=babb") == ["Charles Babbage"]
    assert names("/contacts/?owner=me") == ["Ada Lovelace", "Charles Babbage"]
    assert names("/contacts/?lifecycle_stage=customer") == ["Ada Lovelace", "Grace Hopper"]
    html = client.get("/contacts/?ordering=-name", **HTMX).content.decode()
    assert html.index("Ada Lovelace") < html.index("Grace Hopper") < html.index("Charles Babbage")


@pytest.mark.django_db
def test_list_custom_field_column_and_filter(client, rep_north):
    CustomFieldFactory(
        name="tier",
        label="Tier",
        field_type="choice",
        choices=["Gold", "Silver"],
        show_in_list=True,
    )
    make_contact(rep_north, "Ada", "Lovelace", data={"custom_fields": {"tier": "Gold"}})
    make_contact(rep_north, "Charles", "Babbage", data={"custom_fields": {"tier": "Silver"}})
    client.force_login(rep_north)
    html = client.get("/contacts/?cf_tier=Gold").content.decode()
    assert "<th>Tier</th>" in html
    assert "<td>Gold</td>" in html
    assert "Charles Babbage" not in html


@pytest.mark.django_db
def test_list_bad_filter_shows_error_not_500(client, rep_north):
    client.force_login(rep_north)
    response = client.get("/contacts/?ordering=shoe_size", **HTMX)
    assert response.status_code == 200
    assert "Order by one of:" in response.content.decode()


@pytest.mark.django_db
def test_keyset_pagination_pages_of_fifty(client, rep_north):
    for i in range(55):
        make_contact(rep_north, "Person", f"N{i:03d}")
    client.force_login(rep_north)
    first = client.get("/contacts/", **HTMX)
    assert first.context["page"].next_cursor is not None
    assert len(first.context["rows"]) == 50
    second = client.get(f"/contacts/?cursor={first.context['page'].next_cursor}", **HTMX)
    assert [c.last_name for c in second.context["rows"]] == [f"N{i:03d}" for i in range(50, 55)]
    assert second.context["page"].previous_cursor is not None


def _count_list_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_contact_list_query_count_does_not_grow_with_rows(client, rep_north):
    CustomFieldFactory(name="tier", label="Tier", field_type="text", show_in_list=True)
    account = make_account(rep_north)
    for i in range(5):
        c = make_contact(
            rep_north,
            "P",
            f"A{i}",
            tags=["VIP"],
            emails=[{"email": f"a{i}@x.io"}],
            phones=[{"number": f"+4420794600{i:02d}"}],
        )
        services.relationship_add(actor=rep_north, contact=c, account=account)
    client.force_login(rep_north)
    few = _count_list_queries(client, "/contacts/")
    for i in range(35):
        c = make_contact(
            rep_north,
            "P",
            f"B{i}",
            tags=["VIP", "New"],
            emails=[{"email": f"b{i}@x.io"}],
            phones=[{"number": f"+4420794601{i:02d}"}],
        )
        services.relationship_add(actor=rep_north, contact=c, account=account)
    many = _count_list_queries(client, "/contacts/")
    # session, user with its role, settings, custom fields, the page (with its primary email
    # and phone), its accounts, its tags, then the pickers (owners, teams, tag names).
    assert few == many == 10


@pytest.mark.django_db
def test_account_list_query_count_does_not_grow_with_rows(client, rep_north):
    parent = make_account(rep_north, "Parent Group")
    for i in range(4):
        make_account(
            rep_north,
            f"A{i}",
            tags=["VIP"],
            data={"parent": parent},
            phones=[{"number": f"+4420794600{i:02d}"}],
        )
    client.force_login(rep_north)
    few = _count_list_queries(client, "/accounts/")
    for i in range(35):
        make_account(
            rep_north,
            f"B{i}",
            tags=["VIP", "Partner"],
            data={"parent": parent},
            phones=[{"number": f"+4420794601{i:02d}"}],
        )
    many = _count_list_queries(client, "/accounts/")
    assert few == many == 9  # as for contacts, without the accounts query


# --- permissions ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("visibility", ["private", "team"])
def test_other_team_gets_404_everywhere_and_sees_nothing(
    client, rep_north, rep_south, set_visibility, visibility
):
    set_visibility(visibility)
    secret = make_contact(
        rep_north, "Secret", "Northerner", emails=[{"email": "secret@north.example"}]
    )
    account = make_account(rep_north, "Northern Secrets Ltd")
    email = secret.emailaddresss.get()
    client.force_login(rep_south)
    for url in [
        f"/contacts/{secret.pk}/",
        f"/contacts/{secret.pk}/edit/",
        f"/contacts/{secret.pk}/timeline/",
        f"/contacts/{secret.pk}/history/",
        f"/contacts/{secret.pk}/log/call/",
        f"/contacts/{secret.pk}/email/add/",
        f"/contacts/{secret.pk}/email/{email.pk}/edit/",
        f"/accounts/{account.pk}/",
        f"/accounts/{account.pk}/edit/",
        f"/accounts/{account.pk}/timeline/",
    ]:
        assert client.get(url).status_code == 404, url
    response = client.post(f"/contacts/{secret.pk}/log/note/", {"body": "sneaky"})
    assert response.status_code == 404
    assert (
        client.post(
            f"/contacts/{secret.pk}/edit/",
            {"first_name": "Hacked", "lifecycle_stage": "lead", "version": 1},
        ).status_code
        == 404
    )
    secret.refresh_from_db()
    assert secret.first_name == "Secret"
    assert not TimelineEntry.objects.exists()

    assert "Secret Northerner" not in client.get("/contacts/").content.decode()
    assert "Northern Secrets" not in client.get("/accounts/").content.decode()
    search = client.get("/search/?q=secret", HTTP_HX_REQUEST="true").content.decode()
    assert "Secret Northerner" not in search and "Northern Secrets" not in search
    export = b"".join(client.get("/contacts/export.csv").streaming_content).decode()
    assert "Secret" not in export and "secret@north.example" not in export
    export = b"".join(client.get("/accounts/export.csv").streaming_content).decode()
    assert "Northern Secrets" not in export


@pytest.mark.django_db
def test_read_only_user_gets_friendly_403_on_edit(client, rep_north, readonly_user, set_visibility):
    set_visibility("team")
    contact = make_contact(rep_north)
    client.force_login(readonly_user)
    assert client.get(f"/contacts/{contact.pk}/").status_code == 200
    response = client.get(f"/contacts/{contact.pk}/edit/")
    assert response.status_code == 403
    assert "You can’t do that" in response.content.decode()
    assert client.get("/contacts/new/").status_code == 403


# --- CSV export -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_csv_export_neutralises_formulas_and_follows_filters(client, rep_north):
    make_contact(
        rep_north,
        "=cmd()",
        "Attacker",
        emails=[{"email": "a@example.com"}],
        data={"job_title": "+SUM(A1)"},
    )
    make_contact(rep_north, "Ada", "Lovelace", data={"job_title": "@mention"})
    make_contact(rep_north, "Bob", "Other", data={"lifecycle_stage": "customer"})
    client.force_login(rep_north)
    response = client.get("/contacts/export.csv?lifecycle_stage=lead")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="contacts-')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:5] == ["id", "prefix", "first_name", "middle_name", "last_name"]
    by_last = {r[4]: r for r in rows[1:]}
    assert set(by_last) == {"Attacker", "Lovelace"}
    assert by_last["Attacker"][2] == "'=cmd()"
    assert by_last["Attacker"][5] == "'+SUM(A1)"
    assert by_last["Attacker"][7] == "a@example.com"
    assert by_last["Lovelace"][5] == "'@mention"


def test_neutralise_helper():
    from patron.utils.export import neutralise

    assert [neutralise(v) for v in ["=1+1", "+1", "-1", "@x", "\tx", "\rx", "ok", None, 5]] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@x",
        "'\tx",
        "'\rx",
        "ok",
        "",
        "5",
    ]


def test_csv_quotes_every_field_and_guards_formulas_after_a_separator():
    from patron.utils.export import csv_lines, neutralise_csv

    assert [
        neutralise_csv(v)
        for v in ["ok;-2+3", "a,=1+1", "x\t@y", "Board; -vip", "=a;=b", "ok; fine, really", 5]
    ] == ["ok;'-2+3", "a,'=1+1", "x\t'@y", "Board; '-vip", "'=a;'=b", "ok; fine, really", "5"]
    text = "".join(csv_lines(["name", "n"], [["ok;-2+3", 5], [None, 'say "hi"']]))
    assert text.split("\r\n") == ['"name","n"', '"ok;\'-2+3","5"', '"","say ""hi"""', ""]


@pytest.mark.django_db
def test_csv_export_opened_with_a_semicolon_separator_has_no_formula_cell(client, rep_north):
    """Excel in a locale whose list separator is ";" splits unquoted fields at ";"."""
    make_contact(rep_north, "Eve", "Semi", data={"job_title": "ok;-2+3"})
    client.force_login(rep_north)
    text = b"".join(client.get("/contacts/export.csv").streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][5] == "ok;'-2+3"
    line = text.splitlines()[1]
    assert '"Eve","","Semi","ok;\'-2+3","Lead"' in line  # quoted: one cell, even at ";"
    for piece in line.split(";"):  # and split without reading quotes, no piece is a formula
        assert not piece.lstrip(' "').startswith(("=", "+", "-", "@", "\t", "\r"))


# --- detail, timeline, history ------------------------------------------------------------------


@pytest.mark.django_db
def test_contact_detail_shows_header_cards_and_timeline(client, rep_north):
    account = make_account(rep_north)
    contact = make_contact(
        rep_north,
        tags=["VIP"],
        emails=[{"email": "ada@example.com"}],
        phones=[{"number": "+44 20 7946 0018"}],
        data={"job_title": "Analyst", "lifecycle_stage": "customer"},
    )
    services.relationship_add(
        actor=rep_north, contact=contact, account=account, data={"role": "Buyer"}
    )
    services.timeline_entry_create(
        actor=rep_north,
        kind="call",
        contact=contact,
        subject="Renewal",
        data={"direction": "inbound", "duration_seconds": 330, "outcome": "left_voicemail"},
    )
    client.force_login(rep_north)
    html = client.get(f"/contacts/{contact.pk}/").content.decode()
    assert "<h1>Ada Lovelace</h1>" in html
    assert '<span class="badge stage stage-customer">Customer</span>' in html
    assert 'href="mailto:ada@example.com"' in html
    assert "+44 20 7946 0018" in html
    assert "Analytical Engines Ltd" in html and '<span class="chip">Buyer</span>' in html
    assert '<span class="tl-kind">Call</span>' in html
    assert '<span class="chip">Inbound</span>' in html
    assert "5m 30s" in html
    assert "Left voicemail" in html
    assert "Log a call" in html and "Add a note" in html and "Add a task" in html


@pytest.mark.django_db
def test_user_text_is_escaped(client, rep_north):
    contact = make_contact(rep_north, "<script>alert(1)</script>", "X")
    client.force_login(rep_north)
    html = client.get(f"/contacts/{contact.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.django_db
def test_timeline_kind_filter(client, rep_north):
    contact = make_contact(rep_north)
    services.timeline_entry_create(actor=rep_north, kind="note", contact=contact, body="A note")
    services.timeline_entry_create(actor=rep_north, kind="call", contact=contact, subject="A call")
    client.force_login(rep_north)
    html = client.get(
        f"/contacts/{contact.pk}/timeline/?kind=call", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "A call" in html and "A note" not in html


@pytest.mark.django_db
def test_log_call_returns_entry_for_the_top_of_the_timeline(client, rep_north):
    contact = make_contact(rep_north)
    client.force_login(rep_north)
    response = client.post(
        f"/contacts/{contact.pk}/log/call/",
        {
            "subject": "Intro call",
            "direction": "outbound",
            "outcome": "connected",
            "duration_minutes": "7",
            "body": "Went well",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'hx-swap-oob="afterbegin:#timeline-entries"' in html
    assert "Intro call" in html and "7m 00s" in html
    entry = TimelineEntry.objects.get()
    assert (entry.kind, entry.contact_id, entry.author_id) == ("call", contact.pk, rep_north.pk)
    assert entry.data == {"direction": "outbound", "duration_seconds": 420, "outcome": "connected"}


@pytest.mark.django_db
def test_empty_note_shows_error_beside_the_field(client, rep_north):
    contact = make_contact(rep_north)
    client.force_login(rep_north)
    html = client.post(
        f"/contacts/{contact.pk}/log/note/", {"body": " "}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Write something in the note." in html
    assert not TimelineEntry.objects.exists()


@pytest.mark.django_db
def test_task_done_checkbox(client, rep_north):
    contact = make_contact(rep_north)
    task = services.timeline_entry_create(
        actor=rep_north, kind="task", contact=contact, subject="Send proposal"
    )
    client.force_login(rep_north)
    html = client.get("/").content.decode()
    assert "Send proposal" in html
    response = client.post(
        f"/tasks/{task.pk}/done/", {"done": "on", "where": "home"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert 'class="task done"' in response.content.decode()
    task.refresh_from_db()
    assert task.completed_at is not None


@pytest.mark.django_db
def test_history_shows_field_changes(client, rep_north):
    contact = make_contact(rep_north, data={"job_title": "Analyst"})
    services.contact_update(
        actor=rep_north, contact=contact, expected_version=1, data={"job_title": "Chief Analyst"}
    )
    client.force_login(rep_north)
    html = client.get(f"/contacts/{contact.pk}/history/", HTTP_HX_REQUEST="true").content.decode()
    assert '<th>Job title</th><td class="before">Analyst</td>' in html
    assert '<td class="after">Chief Analyst</td>' in html


@pytest.mark.django_db
def test_account_detail_lists_people(client, rep_north):
    account = make_account(rep_north)
    contact = make_contact(rep_north)
    services.relationship_add(
        actor=rep_north, contact=contact, account=account, data={"role": "CFO"}
    )
    client.force_login(rep_north)
    html = client.get(f"/accounts/{account.pk}/").content.decode()
    assert "<h1>Analytical Engines Ltd</h1>" in html
    assert "Ada Lovelace" in html and '<span class="chip">CFO</span>' in html


# --- contact points inline --------------------------------------------------------------------


@pytest.mark.django_db
def test_phone_add_edit_delete_inline(client, rep_north):
    contact = make_contact(rep_north)
    client.force_login(rep_north)
    base = f"/contacts/{contact.pk}/phone"
    html = client.post(
        f"{base}/add/", {"number": "020 7946 0018", "kind": "work"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert html.lstrip().startswith('<section class="card" id="card-phone">')
    assert "+44 20 7946 0018" in html
    phone = PhoneNumber.objects.get()
    bad = client.post(
        f"{base}/{phone.pk}/edit/",
        {"number": "12", "kind": "work", "version": phone.version},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "Enter a valid phone number" in bad
    client.post(
        f"{base}/{phone.pk}/edit/",
        {"number": "+33 1 23 45 67 89", "kind": "work", "version": phone.version},
        HTTP_HX_REQUEST="true",
    )
    phone.refresh_from_db()
    assert phone.e164 == "+33123456789"
    client.post(f"{base}/{phone.pk}/delete/", HTTP_HX_REQUEST="true")
    assert not PhoneNumber.objects.exists()


# --- create and edit forms ----------------------------------------------------------------------


@pytest.mark.django_db
def test_create_contact_with_two_phones_and_custom_field(client, rep_north):
    CustomFieldFactory(name="tier", label="Tier", field_type="choice", choices=["Gold", "Silver"])
    client.force_login(rep_north)
    response = client.post(
        "/contacts/new/",
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "lifecycle_stage": "lead",
            "tags": "VIP, Math",
            "cf_tier": "Gold",
            "email": ["ada@example.com", ""],
            "email_kind": ["work", "work"],
            "phone": ["+44 20 7946 0018", "07700 900123"],
            "phone_kind": ["work", "mobile"],
        },
    )
    contact = Contact.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/contacts/{contact.pk}/"
    assert contact.owner == rep_north and contact.team_id == rep_north.team_id
    assert contact.custom_fields == {"tier": "Gold"}
    assert sorted(t.name for t in contact.tags.all()) == ["Math", "VIP"]
    assert [p.e164 for p in contact.phonenumbers.order_by("id")] == [
        "+442079460018",
        "+447700900123",
    ]
    assert list(contact.emailaddresss.values_list("email", flat=True)) == ["ada@example.com"]


@pytest.mark.django_db
def test_create_errors_shown_beside_fields(client, rep_north):
    CustomFieldFactory(name="tier", label="Tier", field_type="text", required=True)
    client.force_login(rep_north)
    response = client.post(
        "/contacts/new/",
        {"first_name": "Ada", "lifecycle_stage": "lead", "phone": ["12"], "phone_kind": ["mobile"]},
    )
    assert response.status_code == 200
    html = response.content.decode()
    field = html[html.index('id="field-cf_tier"') :]
    field = field[: field.index("</div>\n</div>") + len("</div>\n</div>")]
    assert field.endswith('<div class="field-error">This field is required.</div>\n</div>')
    assert not Contact.objects.exists()


@pytest.mark.django_db
def test_create_bad_phone_shown_in_phone_section(client, rep_north):
    client.force_login(rep_north)
    html = client.post(
        "/contacts/new/",
        {"first_name": "Ada", "lifecycle_stage": "lead", "phone": ["12"], "phone_kind": ["mobile"]},
    ).content.decode()
    section = html[html.index('id="field-phones"') : html.index('id="field-phones"') + 2000]
    assert "Enter a valid phone number" in section
    assert 'value="12"' in section
    assert not Contact.objects.exists()


@pytest.mark.django_db
def test_edit_form_carries_version_and_saves(client, rep_north):
    contact = make_contact(rep_north)
    client.force_login(rep_north)
    html = client.get(f"/contacts/{contact.pk}/edit/").content.decode()
    assert '<input type="hidden" name="version" value="1"' in html
    response = client.post(
        f"/contacts/{contact.pk}/edit/",
        {
            "first_name": "Augusta Ada",
            "last_name": "King",
            "lifecycle_stage": "customer",
            "owner": rep_north.pk,
            "team": rep_north.team_id,
            "version": 1,
        },
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.first_name, contact.last_name, contact.version) == ("Augusta Ada", "King", 2)


@pytest.mark.django_db
def test_stale_edit_shows_conflict_and_changes_nothing(client, rep_north):
    contact = make_contact(rep_north)
    services.contact_update(
        actor=rep_north, contact=contact, expected_version=1, data={"job_title": "Countess"}
    )
    client.force_login(rep_north)
    response = client.post(
        f"/contacts/{contact.pk}/edit/",
        {"first_name": "Stale", "last_name": "Edit", "lifecycle_stage": "lead", "version": 1},
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "This contact was changed by someone else since you opened it." in html
    assert "Reload latest version" in html
    assert f'href="/contacts/{contact.pk}/edit/"' in html
    contact.refresh_from_db()
    assert (contact.first_name, contact.last_name, contact.job_title, contact.version) == (
        "Ada",
        "Lovelace",
        "Countess",
        2,
    )


@pytest.mark.django_db
def test_create_and_edit_account(client, rep_north):
    client.force_login(rep_north)
    response = client.post(
        "/accounts/new/",
        {
            "name": "Difference Engines",
            "lifecycle_stage": "lead",
            "phone": ["+44 20 7946 0018"],
            "phone_kind": ["work"],
        },
    )
    assert response.status_code == 302
    account = Account.objects.get()
    response = client.post(
        f"/accounts/{account.pk}/edit/",
        {
            "name": "Difference Engines plc",
            "lifecycle_stage": "customer",
            "version": 1,
            "owner": rep_north.pk,
        },
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.name == "Difference Engines plc"
    assert reverse("account_detail", args=[account.pk]) == response["Location"]


@pytest.mark.django_db
def test_global_search_dropdown(client, rep_north):
    make_contact(rep_north, emails=[{"email": "ada@example.com"}])
    make_account(rep_north, "Adastra Ltd")
    client.force_login(rep_north)
    html = client.get("/search/?q=ada", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in html
    assert "Ada Lovelace" in html and "Adastra Ltd" in html
    assert client.get("/search/?q=ada").content.decode().count("Ada Lovelace") >= 1


# --- account picker -----------------------------------------------------------------------------


def _pages_with_account_pickers(client, contact, account):
    """The pages that offer an account: the contact page, its "link an account" form, and the
    account create and edit forms."""
    return [
        client.get(f"/contacts/{contact.pk}/").content.decode(),
        client.get(
            f"/contacts/{contact.pk}/accounts/add/", HTTP_HX_REQUEST="true"
        ).content.decode(),
        client.get("/accounts/new/").content.decode(),
        client.get(f"/accounts/{account.pk}/edit/").content.decode(),
    ]


@pytest.mark.django_db
def test_account_pickers_render_no_option_per_account(client, rep_north):
    contact = make_contact(rep_north)
    account = make_account(rep_north, "Bulk 000")
    for i in range(1, 3):
        make_account(rep_north, f"Bulk {i:03d}")
    client.force_login(rep_north)
    few = _pages_with_account_pickers(client, contact, account)
    for i in range(3, 30):
        make_account(rep_north, f"Bulk {i:03d}")
    many = _pages_with_account_pickers(client, contact, account)
    assert [len(html) for html in many] == [len(html) for html in few]
    assert [html.count("<option") for html in many] == [html.count("<option") for html in few]
    for html in many:
        assert "Bulk 017" not in html
    link_form = many[1]
    assert (
        '<label class="label" for="id_account_search">Account <span class="req">*</span>'
        in link_form
    )
    assert '<input type="hidden" name="account" value="" id="id_account">' in link_form
    assert 'hx-get="/accounts/lookup/"' in link_form


@pytest.mark.django_db
def test_account_lookup_returns_only_visible_accounts(client, rep_north, rep_south, set_visibility):
    set_visibility("private")
    for name in ["Acme North B", "Acme North A", "Acme North C"]:
        make_account(rep_north, name)
    make_account(rep_south, "Acme South")
    client.force_login(rep_south)
    response = client.get("/accounts/lookup/?field=account&q=acme", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert [a.name for a in response.context["accounts"]] == ["Acme South"]
    assert "Acme North" not in response.content.decode()
    client.force_login(rep_north)
    response = client.get("/accounts/lookup/?field=account&q=acme%20north")
    assert [a.name for a in response.context["accounts"]] == [
        "Acme North A",
        "Acme North B",
        "Acme North C",
    ]
    html = response.content.decode()
    assert html.count('role="option"') == 3
    assert 'hx-target="#picker-account"' in html
    assert client.get("/accounts/lookup/?field=account&q=a").context["accounts"] == []
    assert client.get("/accounts/lookup/?field=owner&q=acme").status_code == 404


@pytest.mark.django_db
def test_account_lookup_returns_at_most_ten_in_a_fixed_number_of_queries(client, rep_north):
    for i in range(3):
        make_account(rep_north, f"Acme {i:02d}")
    client.force_login(rep_north)
    with CaptureQueriesContext(connection) as few:
        client.get("/accounts/lookup/?field=parent&q=acme", HTTP_HX_REQUEST="true")
    for i in range(3, 25):
        make_account(rep_north, f"Acme {i:02d}")
    with CaptureQueriesContext(connection) as many:
        response = client.get("/accounts/lookup/?field=parent&q=acme", HTTP_HX_REQUEST="true")
    assert [a.name for a in response.context["accounts"]] == [f"Acme {i:02d}" for i in range(10)]
    assert response.content.decode().count('role="option"') == 10
    # session, user with its role, organisation settings, the matches
    assert len(few.captured_queries) == len(many.captured_queries) == 4


@pytest.mark.django_db
def test_account_pick_shows_the_choice_and_refuses_invisible_accounts(
    client, rep_north, rep_south, set_visibility
):
    set_visibility("private")
    mine = make_account(rep_north, "Northwind")
    theirs = make_account(rep_south, "Southwind")
    client.force_login(rep_north)
    html = client.get(
        f"/accounts/lookup/pick/?field=account&pick={mine.pk}&focus=clear", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert html.startswith('<div class="picker" id="picker-account" data-picker>')
    assert f'<input type="hidden" name="account" value="{mine.pk}" id="id_account">' in html
    assert '<span class="picker-name" title="Northwind">Northwind</span>' in html
    cleared = client.get("/accounts/lookup/pick/?field=account", HTTP_HX_REQUEST="true")
    assert (
        '<input type="hidden" name="account" value="" id="id_account">' in cleared.content.decode()
    )
    assert client.get(f"/accounts/lookup/pick/?field=account&pick={theirs.pk}").status_code == 404


@pytest.mark.django_db
def test_link_account_by_id_and_refuse_an_invisible_one(
    client, rep_north, rep_south, set_visibility
):
    from patron.customers.models import AccountRelationship

    set_visibility("private")
    contact = make_contact(rep_north)
    mine = make_account(rep_north, "Northwind")
    theirs = make_account(rep_south, "Southwind")
    client.force_login(rep_north)
    url = f"/contacts/{contact.pk}/accounts/add/"
    response = client.post(url, {"account": theirs.pk, "role": "CFO"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    field = html[html.index('id="field-account"') :]
    assert (
        '<div class="field-error">Select a valid choice. That choice is not one of the '
        "available choices.</div>"
    ) in field[: field.index('id="field-role"')]
    assert "Southwind" not in html
    assert '<input type="hidden" name="account" value="" id="id_account">' in html
    assert not AccountRelationship.objects.exists()

    html = client.post(
        url, {"account": mine.pk, "role": "CFO"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert list(AccountRelationship.objects.values_list("contact_id", "account_id", "role")) == [
        (contact.pk, mine.pk, "CFO")
    ]
    assert 'class="with-avatar"' in html and "Northwind</a>" in html


def _account_post(account, **extra):
    return {
        "name": account.name,
        "lifecycle_stage": account.lifecycle_stage,
        "version": account.version,
        "owner": account.owner_id or "",
        "team": account.team_id or "",
        **extra,
    }


@pytest.mark.django_db
def test_account_parent_picker_shows_current_parent_and_validates(
    client, rep_north, rep_south, set_visibility
):
    set_visibility("private")
    parent = make_account(rep_north, "Parent Group")
    other = make_account(rep_north, "Other Group")
    theirs = make_account(rep_south, "Southwind")
    account = make_account(rep_north, "Child Ltd", data={"parent": parent})
    client.force_login(rep_north)
    html = client.get(f"/accounts/{account.pk}/edit/").content.decode()
    assert f'<input type="hidden" name="parent" value="{parent.pk}" id="id_parent">' in html
    assert '<span class="picker-name" title="Parent Group">Parent Group</span>' in html
    assert f'"exclude": "{account.pk}"' in html

    response = client.post(
        f"/accounts/{account.pk}/edit/", _account_post(account, parent=theirs.pk)
    )
    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()
    response = client.post(
        f"/accounts/{account.pk}/edit/", _account_post(account, parent=account.pk)
    )
    assert "Select a valid choice." in response.content.decode()
    account.refresh_from_db()
    assert (account.parent_id, account.version) == (parent.pk, 1)

    response = client.post(f"/accounts/{account.pk}/edit/", _account_post(account, parent=other.pk))
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.parent_id, account.version) == (other.pk, 2)


@pytest.mark.django_db
def test_saving_an_account_keeps_a_parent_the_editor_cannot_see(
    client, rep_north, rep_south, set_visibility
):
    set_visibility("private")
    theirs = make_account(rep_south, "Southwind")
    account = make_account(rep_north, "Child Ltd", data={"parent": theirs})
    client.force_login(rep_north)
    html = client.get(f"/accounts/{account.pk}/edit/").content.decode()
    assert (
        f'<span class="picker-name" title="Account #{theirs.pk}">Account #{theirs.pk}</span>'
    ) in html
    assert "Southwind" not in html
    response = client.post(
        f"/accounts/{account.pk}/edit/", _account_post(account, parent=theirs.pk, industry="Tea")
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.parent_id, account.industry) == (theirs.pk, "Tea")


# --- history ------------------------------------------------------------------------------------


def _history_items(html):
    """Each history item as one line of text, without its (relative) time."""
    import re

    html = re.sub(r'<span class="hist-time"[^>]*>.*?</span>', "", html, flags=re.S)
    items = html.split('<div class="hist-item">')[1:]
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in items]


def _name(user, first, last):
    user.first_name, user.last_name = first, last
    user.save(update_fields=["first_name", "last_name"])
    return user


@pytest.mark.django_db
def test_history_shows_names_instead_of_ids(
    client, rep_north, rep_north_2, manager_north, rep_south, set_visibility
):
    set_visibility("private")
    _name(rep_north, "Nora", "North")
    _name(rep_north_2, "Noel", "Second")
    hidden = make_account(rep_south, "Southern Holdings")
    parent = make_account(rep_north, "Parent Group")
    account = make_account(rep_north, "Child Ltd", data={"parent": parent})
    services.account_update(
        actor=rep_north,
        account=account,
        expected_version=1,
        data={"parent": hidden, "owner": rep_north_2},
    )
    services.contact_point_add(
        actor=rep_north_2,
        model=PhoneNumber,
        parent=account,
        data={"number": "020 7946 0018", "kind": "work"},
    )
    services.timeline_entry_create(
        actor=rep_north_2,
        kind="task",
        account=account,
        subject="Call back",
        assignee=rep_north,
        occurred_at=datetime.datetime(2026, 1, 5, 9, 30, tzinfo=datetime.UTC),
    )
    client.force_login(manager_north)
    html = client.get(f"/accounts/{account.pk}/history/", HTTP_HX_REQUEST="true").content.decode()
    assert _history_items(html) == [
        "NS Noel Second Task Call back added "
        "Kind — → task Occurred at — → 2026-01-05T09:30:00+00:00 Subject — → Call back "
        "Assignee — → Nora North",
        "NS Noel Second Phone +44 20 7946 0018 added "
        "Number — → 020 7946 0018 E164 — → +442079460018 Kind — → work Is primary — → Yes",
        f"NN Nora North changed this record Parent Parent Group → #{hidden.pk} "
        "Owner Nora North → Noel Second",
        "NN Nora North added this record Name — → Child Ltd Parent — → Parent Group "
        "Owner — → Nora North Team — → North Lifecycle stage — → lead",
    ]


def _count_history_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


@pytest.mark.django_db
def test_history_query_count_does_not_grow_with_events_or_references(
    client, manager_north, team_north
):
    from patron.core.tests.factories import UserFactory

    account = make_account(manager_north, "Child Ltd")
    contact = make_contact(manager_north)

    def churn(n):
        for i in range(n):
            user = UserFactory(team=team_north)
            parent = make_account(manager_north, f"Parent {user.pk}")
            services.account_update(
                actor=manager_north,
                account=account,
                expected_version=account.version,
                data={"owner": user, "parent": parent},
            )
            account.refresh_from_db()
            services.relationship_add(
                actor=manager_north, contact=contact, account=parent, data={"role": f"Role {i}"}
            )
            services.timeline_entry_create(
                actor=manager_north,
                kind="task",
                contact=contact,
                subject=f"Task {i}",
                assignee=user,
            )

    churn(2)
    client.force_login(manager_north)
    few, _ = _count_history_queries(client, f"/accounts/{account.pk}/history/")
    few_contact, _ = _count_history_queries(client, f"/contacts/{contact.pk}/history/")
    churn(12)
    many, html = _count_history_queries(client, f"/accounts/{account.pk}/history/")
    many_contact, contact_html = _count_history_queries(client, f"/contacts/{contact.pk}/history/")
    # The record page's own queries (session, user with its role, settings, the record and
    # its prefetches), the events, then one query each for users, teams and accounts.
    assert few == many == 12
    assert few_contact == many_contact == 13
    users = list(User.objects.order_by("-pk")[:2])
    newest, previous = users[0], users[1]
    parents = list(Account.objects.filter(name__startswith="Parent ").order_by("-pk")[:2])
    assert _history_items(html)[0] == (
        f"{_initials(manager_north)} {manager_north.display_name} "
        f"changed this record Parent {parents[1].name} → {parents[0].name} "
        f"Owner {previous.display_name} → {newest.display_name}"
    )
    assert f"Account — → {parents[0].name} Role — → Role 11" in contact_html_text(contact_html)
    assert f"Assignee — → {newest.display_name}" in contact_html_text(contact_html)


def _initials(user):
    return (user.first_name[:1] + user.last_name[:1]).upper()


def contact_html_text(html):
    return " | ".join(_history_items(html))
