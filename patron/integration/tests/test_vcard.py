"""vCard out (4.0) and in (4.0, 3.0, 2.1): round trip, real-world samples, escaping, folding,
and a broken card that is reported with its line while the others are read."""

import datetime
import io
import uuid

import pytest

from patron.customers import selectors, services
from patron.customers.models import Contact, PhoneNumber
from patron.integration import services as import_services
from patron.integration.models import SourceRecord
from patron.integration.vcard import (
    VCARD_DEFAULT_MAPPING,
    contact_to_vcard,
    contact_uid,
    contacts_to_vcards,
    mapping_key,
    point_column,
    read_vcards,
)


def read(data: bytes) -> list[tuple[int, dict]]:
    return list(read_vcards(io.BytesIO(data)))


def crlf(text: str) -> bytes:
    return text.strip("\n").replace("\n", "\r\n").encode() + b"\r\n"


@pytest.fixture
def ada(rep_north):
    """A contact with every field a vCard carries, awkward punctuation included."""
    contact = services.contact_create(
        actor=rep_north,
        data={
            "prefix": "Dr",
            "first_name": "Ada",
            "middle_name": "Augusta",
            "last_name": "Lovelace",
            "suffix": "FRS",
            "job_title": "Analyst, Engines; Research",
            "date_of_birth": datetime.date(1815, 12, 10),
            "description": "Line one\nLine two; with, punctuation \\ and a backslash",
        },
        emails=[
            {"email": "ada@example.com", "kind": "work"},
            {"email": "ada@home.example", "kind": "personal"},
        ],
        phones=[
            {"number": "+44 20 7946 0018", "kind": "mobile"},
            {"number": "020 7946 0019", "kind": "work", "extension": "12"},
            {"number": "020 7946 0020", "kind": "home"},
        ],
        addresses=[
            {
                "kind": "home",
                "street": "12 St James's Square",
                "street2": "Flat 2",
                "city": "London",
                "region": "Greater London",
                "postal_code": "SW1Y 4JH",
                "country": "GB",
            }
        ],
    )
    # A number kept only as typed (no E.164), as older records and imports may hold.
    PhoneNumber.objects.filter(number="020 7946 0020").update(e164="")
    former = services.account_create(actor=rep_north, data={"name": "Old Employer"})
    services.relationship_add(
        actor=rep_north,
        contact=contact,
        account=former,
        data={"ended_on": datetime.date(2000, 1, 1)},
    )
    engines = services.account_create(actor=rep_north, data={"name": "Engines; Ltd, Co"})
    services.relationship_add(
        actor=rep_north, contact=contact, account=engines, data={"is_primary": True}
    )
    return selectors.contact_get(user=rep_north, pk=contact.pk)


# --- writing and reading back -----------------------------------------------------------------


@pytest.mark.django_db
def test_round_trip_gives_back_every_value(ada):
    text = contact_to_vcard(ada)
    assert read(text.encode()) == [
        (
            1,
            {
                "uid": contact_uid(ada.pk),
                "fn": "Dr Ada Augusta Lovelace FRS",
                "n.prefix": "Dr",
                "n.given": "Ada",
                "n.additional": "Augusta",
                "n.family": "Lovelace",
                "n.suffix": "FRS",
                "org": "Engines; Ltd, Co",
                "title": "Analyst, Engines; Research",
                "bday": "18151210",
                "note": "Line one\nLine two; with, punctuation \\ and a backslash",
                "email.work": "ada@example.com",
                "email.2.home": "ada@home.example",
                "tel.cell": "+442079460018",
                "tel.2.work": "+442079460019 ext. 12",
                "tel.3.home": "020 7946 0020",
                "adr.street": "12 St James's Square\nFlat 2",
                "adr.city": "London",
                "adr.region": "Greater London",
                "adr.code": "SW1Y 4JH",
                "adr.country": "GB",
                "adr.type": "home",
            },
        )
    ]


@pytest.mark.django_db
def test_vcard_4_properties_as_written(ada):
    lines = contact_to_vcard(ada).replace("\r\n ", "").split("\r\n")  # unfolded
    assert lines[:2] == ["BEGIN:VCARD", "VERSION:4.0"]
    assert lines[-2:] == ["END:VCARD", ""]
    assert f"UID:{contact_uid(ada.pk)}" in lines
    assert "PRODID:-//Patron//Patron CRM//EN" in lines
    assert "N:Lovelace;Ada;Augusta;Dr;FRS" in lines
    assert "ORG:Engines\\; Ltd\\, Co" in lines  # the primary, current relationship
    assert "TITLE:Analyst\\, Engines\\; Research" in lines
    assert "EMAIL;PREF=1;TYPE=work:ada@example.com" in lines
    assert "TEL;PREF=1;TYPE=cell;VALUE=uri:tel:+442079460018" in lines
    assert "TEL;TYPE=work,voice;VALUE=uri:tel:+442079460019;ext=12" in lines  # a URI: no \;
    assert "TEL;TYPE=home,voice;VALUE=text:020 7946 0020" in lines
    assert (
        "ADR;PREF=1;TYPE=home:;;12 St James's Square\\nFlat 2;London;Greater London;"
        "SW1Y 4JH;GB" in lines
    )
    assert "BDAY:18151210" in lines
    assert "NOTE:Line one\\nLine two\\; with\\, punctuation \\\\ and a backslash" in lines
    rev = ada.updated_at.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    assert f"REV:{rev}" in lines


def test_uid_is_stable_and_a_uuid():
    assert contact_uid(42) == contact_uid(42) != contact_uid(43)
    assert contact_uid(42).startswith("urn:uuid:")
    assert uuid.UUID(contact_uid(42).removeprefix("urn:uuid:")).version == 5


@pytest.mark.django_db
def test_long_lines_fold_at_75_octets_without_splitting_characters(rep_north):
    note = "Ünïcødé, ; \\ " * 30 + "\nlast line"
    contact = services.contact_create(
        actor=rep_north, data={"first_name": "Zoë", "last_name": "Long", "description": note}
    )
    text = "".join(contacts_to_vcards([selectors.contact_get(user=rep_north, pk=contact.pk)]))
    physical = text.encode().split(b"\r\n")
    assert max(len(line) for line in physical) <= 75
    assert sum(line.startswith(b" ") for line in physical) >= 5  # NOTE was folded
    for line in physical:
        line.decode("utf-8")  # no character cut in two
    [(_, card)] = read(text.encode())
    assert card["note"] == note
    assert card["fn"] == "Zoë Long"


@pytest.mark.django_db
def test_contact_without_organisation_or_points(rep_north):
    contact = services.contact_create(actor=rep_north, data={"last_name": "Solo"})
    text = contact_to_vcard(selectors.contact_get(user=rep_north, pk=contact.pk))
    assert "ORG" not in text and "TEL" not in text and "BDAY" not in text
    assert read(text.encode())[0][1] == {
        "uid": contact_uid(contact.pk),
        "fn": "Solo",
        "n.family": "Solo",
    }


# --- reading what other systems write ---------------------------------------------------------

OUTLOOK_30 = r"""
BEGIN:VCARD
VERSION:3.0
PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN
N:Lovelace;Ada;Augusta;Lady;
FN:Lady Ada Lovelace
ORG:Analytical Engines Ltd;Research
TITLE:Analyst
NOTE:Met at the demo\, London.\nFollow up in spring\; bring notes.
TEL;TYPE=WORK,VOICE:+44 20 7946 0018
TEL;TYPE=CELL,VOICE:07700 900123
TEL;TYPE=WORK,FAX:+44 20 7946 0999
ADR;TYPE=HOME:;;1 Home Road;Bath;Somerset;BA1 1AA;United Kingdom
ADR;TYPE=WORK,PREF:;;12 St James's Square;London;;SW1Y 4JH;United Kingdom
LABEL;TYPE=WORK,PREF:12 St James's Square\nLondon SW1Y 4JH\nUnited Kingdom
item1.EMAIL;TYPE=INTERNET:ada.lovelace@example.com
item1.X-ABLabel:_$!<Other>!$_
EMAIL;TYPE=PREF,INTERNET:ada@engines.example
BDAY:1815-12-10
X-MS-OL-DEFAULT-POSTAL-ADDRESS:2
PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQ
REV:20240102T030405Z
END:VCARD
"""


def test_reads_an_outlook_style_3_0_card():
    assert read(crlf(OUTLOOK_30)) == [
        (
            1,
            {
                "fn": "Lady Ada Lovelace",
                "n.prefix": "Lady",
                "n.given": "Ada",
                "n.additional": "Augusta",
                "n.family": "Lovelace",
                "org": "Analytical Engines Ltd",
                "title": "Analyst",
                "bday": "1815-12-10",
                "note": "Met at the demo, London.\nFollow up in spring; bring notes.",
                "email": "ada@engines.example",  # the preferred one first
                "email.2": "ada.lovelace@example.com",
                "tel.work": "+44 20 7946 0018",
                "tel.2.cell": "07700 900123",
                "tel.3.fax": "+44 20 7946 0999",  # a work fax is a fax
                "adr.street": "12 St James's Square",
                "adr.city": "London",
                "adr.code": "SW1Y 4JH",
                "adr.country": "United Kingdom",
                "adr.type": "work",
                "adr.2.street": "1 Home Road",
                "adr.2.city": "Bath",
                "adr.2.region": "Somerset",
                "adr.2.code": "BA1 1AA",
                "adr.2.country": "United Kingdom",
                "adr.2.type": "home",
            },
        )
    ]


PHONE_21 = """
BEGIN:VCARD
VERSION:2.1
N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=C3=BCrgen;;Dr.;
FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Dr. J=C3=BCrgen M=C3=BCller
TEL;CELL;PREF:+49 170 1234567
TEL;WORK;VOICE:030 123456
EMAIL;HOME:juergen@example.de
ORG;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:B=C3=A4ckerei M=C3=BCller GmbH
ADR;WORK;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:;;Hauptstra=C3=9Fe 1=0D=0AHinter=
haus;Berlin;;10115;Deutschland
NOTE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Erste Zeile=0D=0AZweite Zeile, die sehr lang ist und =
umbrochen wurde
PHOTO;ENCODING=BASE64;JPEG:
 /9j/4AAQSkZJRgABAQAAAQABAAD
 @@@ not base64

END:VCARD
BEGIN:VCARD
VERSION:2.1
N;ENCODING=QUOTED-PRINTABLE:Garc=EDa;Jos=E9
TEL;HOME:0034 91 123 4567
END:VCARD
"""


def test_reads_2_1_cards_with_quoted_printable():
    assert read(crlf(PHONE_21)) == [
        (
            1,
            {
                "fn": "Dr. Jürgen Müller",
                "n.prefix": "Dr.",
                "n.given": "Jürgen",
                "n.family": "Müller",
                "org": "Bäckerei Müller GmbH",
                "note": "Erste Zeile\nZweite Zeile, die sehr lang ist und umbrochen wurde",
                "email.home": "juergen@example.de",
                "tel.cell": "+49 170 1234567",
                "tel.2.work": "030 123456",
                "adr.street": "Hauptstraße 1\nHinterhaus",
                "adr.city": "Berlin",
                "adr.code": "10115",
                "adr.country": "Deutschland",
                "adr.type": "work",
            },
        ),
        # Quoted-printable without a CHARSET, as old Outlook writes it: read as latin-1.
        (
            18,
            {
                "n.given": "José",
                "n.family": "García",
                "tel.home": "0034 91 123 4567",
            },
        ),
    ]


def test_reads_latin_1_utf_8_with_bom_and_utf_16_files():
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:José Müller\r\nEND:VCARD\r\n"
    expected = [(1, {"fn": "José Müller"})]
    assert read(card.encode("latin-1")) == expected
    assert read(b"\xef\xbb\xbf" + card.encode("utf-8")) == expected
    assert read(card.encode("utf-16")) == expected


def test_reads_vcard_4_uris_and_quoted_types():
    data = crlf(
        """
BEGIN:VCARD
VERSION:4.0
FN:Grace Hopper
TEL;VALUE=uri;TYPE="voice,cell";PREF=2:tel:+1-555-555-0100
TEL;VALUE=uri;PREF=1;TYPE=work:tel:+15555550199;ext=7
EMAIL:mailto:grace@example.com
END:VCARD
"""
    )
    assert read(data) == [
        (
            1,
            {
                "fn": "Grace Hopper",
                "email": "grace@example.com",
                "tel.work": "+15555550199 ext. 7",
                "tel.2.cell": "+1-555-555-0100",
            },
        )
    ]


def test_a_broken_card_is_reported_with_its_line_and_the_rest_are_read():
    data = crlf(
        """
A line before any card is ignored
BEGIN:VCARD
VERSION:3.0
FN:First Person
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Broken Person
this line has no colon
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Third Person
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Never Ended
BEGIN:VCARD
VERSION:3.0
FN:Fifth Person
END:VCARD
BEGIN:VCARD
FN:Cut Off At The End Of The File
"""
    )
    assert read(data) == [
        (2, {"fn": "First Person"}),
        (6, {"__error__": "line 9: Failed to parse line: this line has no colon"}),
        (11, {"fn": "Third Person"}),
        (15, {"__error__": "line 15: the card has no END:VCARD."}),
        (18, {"fn": "Fifth Person"}),
        (22, {"__error__": "line 22: the card has no END:VCARD."}),
    ]


def test_an_empty_file_has_no_cards():
    assert read(b"") == []


def test_default_mapping_names_patron_fields():
    assert VCARD_DEFAULT_MAPPING == {
        "uid": "source_key",
        "n.prefix": "contact.prefix",
        "n.given": "contact.first_name",
        "n.additional": "contact.middle_name",
        "n.family": "contact.last_name",
        "n.suffix": "contact.suffix",
        "fn": "contact.full_name",
        "org": "account.name",
        "title": "contact.job_title",
        "bday": "contact.date_of_birth",
        "note": "contact.description",
        "email": "email",
        "email.work": "email.work",
        "email.home": "email.personal",
        "tel": "phone",
        "tel.cell": "phone.mobile",
        "tel.work": "phone.work",
        "tel.home": "phone.home",
        "adr.street": "address.street",
        "adr.city": "address.city",
        "adr.region": "address.region",
        "adr.code": "address.postal_code",
        "adr.country": "address.country",
    }


def test_types_become_kinds_in_the_keys_and_a_2_1_fax_is_a_fax():
    data = crlf(
        """
BEGIN:VCARD
VERSION:2.1
FN:Fax Person
TEL;FAX:+44 20 7946 0999
TEL;WORK;FAX:+44 20 7946 0998
TEL;PAGER:+44 20 7946 0997
TEL;WORK;CELL:+44 7700 900123
EMAIL;INTERNET:fax@example.com
EMAIL;INTERNET;HOME:home@example.com
END:VCARD
"""
    )
    assert read(data) == [
        (
            1,
            {
                "fn": "Fax Person",
                "tel.fax": "+44 20 7946 0999",
                "tel.2.fax": "+44 20 7946 0998",
                "tel.3": "+44 20 7946 0997",  # a pager: no kind Patron knows
                "tel.4.cell": "+44 7700 900123",  # a work mobile is a mobile
                "email": "fax@example.com",
                "email.2.home": "home@example.com",
            },
        )
    ]


@pytest.mark.parametrize(
    "column, point, key",
    [
        ("email", ("email", 1, ""), "email"),
        ("email.3", ("email", 3, ""), "email"),
        ("email.work", ("email", 1, "work"), "email.work"),
        ("tel.2.work", ("tel", 2, "work"), "tel.work"),
        ("tel.12.fax", ("tel", 12, "fax"), "tel.fax"),
        ("adr.2.street", None, "adr.2.street"),
        ("n.given", None, "n.given"),
        ("tel.2.work.x", None, "tel.2.work.x"),
    ],
)
def test_point_columns_and_their_mapping_keys(column, point, key):
    assert point_column(column) == point
    assert mapping_key(column) == key


@pytest.mark.django_db
def _draft_of(cards: list[str], tmp_path, actor):
    """A draft import of `cards` as one .vcf file, into a new source "Phone"."""
    path = tmp_path / "cards.vcf"
    path.write_text("".join(cards), encoding="utf-8", newline="")
    source = import_services.source_create(
        actor=actor, data={"name": "Phone", "entity": "contact", "default_region": "GB"}
    )
    return import_services.import_start(
        actor=actor, source=source, upload=path, file_name=path.name
    )


def test_export_then_import_gives_back_the_kinds(
    tmp_path, settings, rep_north, admin_user, django_capture_on_commit_callbacks
):
    """Two contacts out as vCards and in again through the import: each email and phone keeps
    its kind and the primary one stays primary; a fax and a second address, which the import
    has no place for, are kept in the source record."""
    mary = services.contact_create(
        actor=rep_north,
        data={"first_name": "Mary", "last_name": "Somerville"},
        emails=[
            {"email": "mary@home.example", "kind": "personal", "is_primary": True},
            {"email": "mary@work.example", "kind": "work"},
        ],
        phones=[
            {"number": "+44 20 7946 0030", "kind": "home", "is_primary": True},
            {"number": "+44 20 7946 0019", "kind": "work", "extension": "12"},
            {"number": "+44 7700 900031", "kind": "mobile"},
            {"number": "+44 20 7946 0039", "kind": "fax"},
        ],
        addresses=[
            {"kind": "home", "street": "1 Home Road", "city": "Bath", "country": "GB"},
            {"kind": "work", "street": "2 Office Row", "city": "London", "country": "GB"},
        ],
    )
    charles = services.contact_create(
        actor=rep_north,
        data={"first_name": "Charles", "last_name": "Babbage"},
        emails=[
            {"email": "charles@work.example", "kind": "work", "is_primary": True},
            {"email": "charles@home.example", "kind": "personal"},
        ],
        phones=[{"number": "+44 7700 900032", "kind": "mobile", "is_primary": True}],
    )
    # Charles first: the columns are first seen in his card, work email before home email.
    cards = contacts_to_vcards(
        [selectors.contact_get(user=rep_north, pk=c.pk) for c in (charles, mary)]
    )
    settings.VAR_DIR = tmp_path / "var"
    run = _draft_of(cards, tmp_path, admin_user)
    mapped = {
        c["column"]: c["target"] for c in run.columns if c["column"].startswith(("email", "tel"))
    }
    assert mapped == {
        "email.work": "email.work",
        "email.home": "email.personal",
        "email.2.home": "email.personal",
        "email.2.work": "email.work",
        "tel.cell": "phone.mobile",
        "tel.home": "phone.home",
        "tel.2.work": "phone.work",
        "tel.3.cell": "phone.mobile",
        "tel.4.fax": "",  # no target: kept in the source record
    }
    assert {c["column"]: c["target"] for c in run.columns}["adr.2.street"] == ""
    run = import_services.import_configure(actor=admin_user, run=run, match_by="none")
    with django_capture_on_commit_callbacks(execute=True):  # the test backend runs the job
        import_services.import_enqueue(actor=admin_user, run=run)
    run.refresh_from_db()
    assert (run.created_count, run.quarantined_count) == (2, 0)

    def points(contact):
        emails = contact.emailaddresss.order_by("email")
        phones = contact.phonenumbers.order_by("e164")
        return (
            [(e.email, e.kind, e.is_primary) for e in emails],
            [(p.number, p.e164, p.extension, p.kind, p.is_primary) for p in phones],
        )

    new_mary = Contact.objects.exclude(pk=mary.pk).get(last_name="Somerville")
    assert points(new_mary) == (
        [("mary@home.example", "personal", True), ("mary@work.example", "work", False)],
        [
            # The extension is kept apart from the number as written.
            ("+442079460019", "+442079460019", "12", "work", False),
            ("+442079460030", "+442079460030", "", "home", True),
            ("+447700900031", "+447700900031", "", "mobile", False),
        ],
    )
    [address] = new_mary.postaladdresss.all()
    assert (address.street, address.city, address.country) == ("1 Home Road", "Bath", "GB")
    payload = SourceRecord.objects.get(contact=new_mary).payload
    assert (payload["tel.4.fax"], payload["adr.2.street"], payload["adr.2.type"]) == (
        "+442079460039",
        "2 Office Row",
        "work",
    )
    new_charles = Contact.objects.exclude(pk=charles.pk).get(last_name="Babbage")
    assert points(new_charles) == (
        [("charles@home.example", "personal", False), ("charles@work.example", "work", True)],
        [("+447700900032", "+447700900032", "", "mobile", True)],
    )


def test_kinds_first_seen_further_down_the_file_are_imported(
    tmp_path, settings, admin_user, django_capture_on_commit_callbacks
):
    """The mapping is suggested from the first cards; a card further down (or the next file of
    the source, which reuses the saved mapping) with a home phone or email still brings them."""
    cards = [
        f"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Cell{i};Ann;;;\r\nFN:Ann Cell{i}\r\n"
        f"TEL;TYPE=CELL:+44 7700 9{i:05d}\r\nEMAIL;TYPE=WORK:ann{i}@work.example\r\n"
        "END:VCARD\r\n"
        for i in range(210)
    ] + [
        f"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Home{i};Bob;;;\r\nFN:Bob Home{i}\r\n"
        f"TEL;TYPE=HOME:+44 20 7946 {i:04d}\r\nEMAIL;TYPE=HOME:bob{i}@home.example\r\n"
        "END:VCARD\r\n"
        for i in range(40)
    ]
    settings.VAR_DIR = tmp_path / "var"
    run = _draft_of(cards, tmp_path, admin_user)
    assert "tel.home" not in {c["column"] for c in run.columns}  # not in the sampled cards
    run = import_services.import_configure(actor=admin_user, run=run, match_by="none")
    with django_capture_on_commit_callbacks(execute=True):
        import_services.import_enqueue(actor=admin_user, run=run)
    run.refresh_from_db()
    assert (run.status, run.created_count) == ("completed", 250)
    bob = Contact.objects.get(last_name="Home7")
    assert [(p.e164, p.kind, p.is_primary) for p in bob.phonenumbers.all()] == [
        ("+442079460007", "home", True)
    ]
    assert [(e.email, e.kind) for e in bob.emailaddresss.all()] == [
        ("bob7@home.example", "personal")
    ]
