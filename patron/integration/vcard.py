"""vCard: contacts out as vCard 4.0 (RFC 6350), and .vcf files in — 4.0, 3.0 and the 2.1
that phones and Outlook still write (quoted-printable, bare TYPE parameters, latin-1).

Writing goes through vobject, which escapes text (commas, semicolons, backslashes, newlines)
and folds lines at 75 octets. Reading uses vobject's parser for each property (parameters,
quoted-printable) and unfolds and unescapes itself, so that what real exporters get wrong (an
unescaped comma, a 2.1 photo, latin-1 bytes) does not lose data. Each card stands alone: one
that cannot be parsed is reported with the line it starts on, and the cards after it are read
as usual.
"""

from __future__ import annotations

import datetime
import io
import re
import uuid
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

import vobject
from vobject.base import ContentLine, VObjectError, textLineToContentLine

if TYPE_CHECKING:
    from patron.customers.models import Contact

PRODID = "-//Patron//Patron CRM//EN"
# Contact UIDs are uuid5(this namespace, contact id): the same contact always gets the same
# UID, so a phone or a mail client re-importing an export updates its cards instead of
# duplicating them. Never change this string.
CONTACT_UID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:patron:contact")

# Patron's kinds of contact points -> vCard TYPE values.
EMAIL_TYPES = {"work": ["work"], "personal": ["home"]}
PHONE_TYPES = {
    "mobile": ["cell"],
    "work": ["work", "voice"],
    "home": ["home", "voice"],
    "fax": ["fax"],
    "other": ["voice"],
}
ADDRESS_TYPES = {"home": ["home"], "work": ["work"]}

# Reading: TYPE values -> the kind an email's or a phone's key carries ("tel.2.work"), tried in
# this order (a work fax is a fax, a work mobile a mobile). Other types (voice, pager,
# internet…) leave the point without a kind.
EMAIL_KIND_BY_TYPE = (("work", "work"), ("home", "home"), ("personal", "home"))
PHONE_KIND_BY_TYPE = (
    ("fax", "fax"),
    ("cell", "cell"),
    ("mobile", "cell"),
    ("iphone", "cell"),
    ("work", "work"),
    ("home", "home"),
)

# The keys `read_vcards` yields, without the position of an email or a phone (see
# `mapping_key`) -> the import targets of Patron's field list. Left out, and so kept only in
# the source record: a fax ("tel.fax": the import has no fax target, and a fax is not a
# number to call) and the addresses after the first ("adr.2.street"…: a row imports one).
VCARD_DEFAULT_MAPPING: dict[str, str] = {
    "uid": "source_key",
    "n.prefix": "contact.prefix",
    "n.given": "contact.first_name",
    "n.additional": "contact.middle_name",
    "n.family": "contact.last_name",
    "n.suffix": "contact.suffix",
    "fn": "contact.full_name",  # the importer uses it only when N is empty
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

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_EXTENSION = re.compile(r"[0-9A-Za-z*#]{1,10}")


# --- writing -----------------------------------------------------------------------------------


def contact_uid(contact_id: int) -> str:
    """The stable vCard UID of a contact: "urn:uuid:" and a UUID derived from its id."""
    return f"urn:uuid:{uuid.uuid5(CONTACT_UID_NAMESPACE, str(contact_id))}"


def _clean(text: str | None) -> str:
    """Text as a vCard value: one kind of line break, no control characters."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL_CHARACTERS.sub("", text).strip()


def _add(card: Any, name: str, content: Any, types: list[str] | None = None, **params: str) -> Any:
    """Add a property; keyword arguments become parameters (value="uri" -> VALUE=uri)."""
    line = card.add(name)
    line.value = content
    if types:
        line.params["TYPE"] = list(types)
    for key, param in params.items():
        line.params[key.upper()] = [param]
    return line


def _organisation(contact: Contact) -> str:
    """The account of the contact's primary relationship (else its first current one)."""
    today = datetime.date.today()
    current = [
        r
        for r in contact.relationships.all()
        if r.ended_on is None or r.ended_on > today  # a former employer is not the ORG
    ]
    current.sort(key=lambda r: (not r.is_primary, r.pk))
    return current[0].account.name if current else ""


def _phone(card: Any, phone: Any) -> None:
    """TEL as a tel: URI when the number is known in E.164 (RFC 3966, with its extension),
    else as the text that was typed."""
    types = PHONE_TYPES.get(phone.kind, [])
    pref = {"pref": "1"} if phone.is_primary else {}
    extension = phone.extension.strip()
    if phone.e164 and (not extension or _EXTENSION.fullmatch(extension)):
        uri = f"tel:{phone.e164}" + (f";ext={extension}" if extension else "")
        line = _add(card, "tel", uri, types, value="uri", **pref)
        line.encoded = True  # a URI is not text: its ";" must not be backslash-escaped
        return
    number = _clean(phone.number) + (f" ext. {_clean(extension)}" if extension else "")
    if number:
        _add(card, "tel", number, types, value="text", **pref)


def contact_to_vcard(contact: Contact) -> str:
    """One contact as a vCard 4.0, CRLF line breaks, folded at 75 octets.

    Reads the contact's emails, phones, addresses and relationships (with their account)
    through the related managers: prefetch them when writing many contacts."""
    card = vobject.vCard()
    _add(card, "version", "4.0")
    _add(card, "prodid", PRODID)
    _add(card, "uid", contact_uid(contact.pk))
    parts = [contact.prefix, contact.first_name, contact.middle_name, contact.last_name]
    formatted = " ".join(_clean(p) for p in [*parts, contact.suffix] if _clean(p))
    _add(card, "fn", formatted or _clean(contact.full_name))
    _add(
        card,
        "n",
        vobject.vcard.Name(
            family=_clean(contact.last_name),
            given=_clean(contact.first_name),
            additional=_clean(contact.middle_name),
            prefix=_clean(contact.prefix),
            suffix=_clean(contact.suffix),
        ),
    )
    organisation = _clean(_organisation(contact))
    if organisation:
        _add(card, "org", [organisation])
    if _clean(contact.job_title):
        _add(card, "title", _clean(contact.job_title))
    for email in contact.emailaddresss.all():
        pref = {"pref": "1"} if email.is_primary else {}
        _add(card, "email", _clean(email.email), EMAIL_TYPES.get(email.kind), **pref)
    for phone in contact.phonenumbers.all():
        _phone(card, phone)
    for address in contact.postaladdresss.all():
        pref = {"pref": "1"} if address.is_primary else {}
        street = "\n".join(s for s in (_clean(address.street), _clean(address.street2)) if s)
        place = (address.city, address.region, address.postal_code, address.country)
        if not street and not any(_clean(p) for p in place):
            continue  # an empty address says nothing
        _add(
            card,
            "adr",
            vobject.vcard.Address(
                street=street,
                city=_clean(address.city),
                region=_clean(address.region),
                code=_clean(address.postal_code),
                country=_clean(address.country),
            ),
            ADDRESS_TYPES.get(address.kind),
            **pref,
        )
    if contact.date_of_birth:
        _add(card, "bday", contact.date_of_birth.strftime("%Y%m%d"))
    if _clean(contact.description):
        _add(card, "note", _clean(contact.description))
    updated = contact.updated_at.astimezone(datetime.UTC)
    _add(card, "rev", updated.strftime("%Y%m%dT%H%M%SZ"))
    return card.serialize()


def contacts_to_vcards(contacts: Iterable[Contact]) -> Iterator[str]:
    """One vCard 4.0 per contact, in the order given."""
    for contact in contacts:
        yield contact_to_vcard(contact)


# --- reading -----------------------------------------------------------------------------------

_BINARY_PROPERTY = re.compile(r"^(?:[\w-]+\.)?(?:PHOTO|LOGO|SOUND|KEY)[;:]", re.IGNORECASE)
_BASE64_LINE = re.compile(r"[A-Za-z0-9+/=]+")
_SKIP_TYPES = {"pref", "internet", "x400"}
NO_PREFERENCE = 101  # RFC 6350 PREF runs from 1 (most preferred) to 100


def _decode(data: bytes) -> str:
    """A card's text: UTF-8 when it is valid UTF-8, else latin-1 (which never fails)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _logical_lines(lines: list[str], first: int) -> Iterator[tuple[str, int]]:
    """(unfolded property line, the file line it starts on). A line starting with a space or a
    tab continues the one before (3.0, 4.0); so does the line after a quoted-printable value
    ending in "=", and the bare base64 lines after a 2.1 photo (2.1)."""
    current: str | None = None
    start = first
    quoted_printable = base64 = False
    for number, raw in enumerate(lines, start=first):
        line = raw.rstrip("\r\n")
        if not line.strip():
            if current is not None:
                yield current, start
            current, quoted_printable, base64 = None, False, False
            continue
        if current is not None and quoted_printable:
            current += "\n" + line  # "=\n" is a soft line break to the decoder
        elif current is not None and line[0] in " \t":
            current += line[1:]
        elif current is not None and base64 and _BASE64_LINE.fullmatch(line):
            current += line
        else:
            if current is not None:
                yield current, start
            current, start = line, number
        head = current.partition(":")[0].upper()
        quoted_printable = current.endswith("=") and "QUOTED-PRINTABLE" in head
        base64 = "BASE64" in head
    if current is not None:
        yield current, start


def _content_line(text: str, number: int) -> ContentLine:
    """vobject's parse of one property: group, name, parameters, quoted-printable decoded.
    Quoted-printable bytes that are not in the charset named (or UTF-8, the default) are
    read as latin-1, as old Outlook versions and phones write them without a CHARSET."""
    try:
        return textLineToContentLine(text, number)
    except UnicodeDecodeError:
        head, colon, value = text.partition(":")
        params = [p for p in head.split(";") if not p.upper().startswith("CHARSET=")]
        latin1 = ";".join([*params, "CHARSET=ISO-8859-1"]) + colon + value
        return textLineToContentLine(latin1, number)


def _parse(text: str, start: int) -> dict[str, list[ContentLine]]:
    """The card's properties by lower-case name, values still escaped (vobject's own
    unescaping keeps a text value only up to its first unescaped comma, and 2.1 files and
    many 3.0 exporters do not escape commas). Photos, logos, sounds and keys are skipped:
    Patron keeps none of them, and a broken photo should not cost the card."""
    properties: dict[str, list[ContentLine]] = {}
    for logical, number in _logical_lines(text.split("\n"), start):
        if _BINARY_PROPERTY.match(logical):
            continue
        line = _content_line(logical, number)
        properties.setdefault(line.name.lower(), []).append(line)
    return properties


def _split(value: str, separator: str) -> list[str]:
    """`value` cut where `separator` is not backslash-escaped; escapes are kept."""
    parts: list[str] = []
    current: list[str] = []
    chars = iter(value)
    for char in chars:
        if char == "\\":
            current.append(char + next(chars, ""))
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def _unescape(value: str) -> str:
    """RFC 6350 text: \\n is a line break; \\, \\; \\: and \\\\ the character itself. Other
    backslashes (a 2.1 file's "C:\\temp") stay as they are."""

    def replace(match: re.Match[str]) -> str:
        char = match.group(1)
        if char in "nN":
            return "\n"
        return char if char in ",;:\\" else match.group(0)

    return _ESCAPED.sub(replace, value)


def _text(value: Any) -> str:
    """A property's value as plain text, one kind of line break, trimmed."""
    text = _unescape(str(value or ""))
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _components(value: Any, names: tuple[str, ...]) -> dict[str, str]:
    """A structured value (N, ADR, ORG) as its named components, each as plain text."""
    parts = _split(str(value or ""), ";")
    return {name: _text(parts[i]) if i < len(parts) else "" for i, name in enumerate(names)}


def _types(line: ContentLine) -> str:
    """The line's TYPE values, lower case, comma separated: "work,voice". 2.1 writes them as
    bare parameters (TEL;WORK;VOICE:), 4.0 sometimes quoted ("cell,voice")."""
    found: list[str] = []
    for value in [*line.params.get("TYPE", []), *line.singletonparams]:
        for part in str(value).split(","):
            part = part.strip().strip('"').lower()
            if part and part not in _SKIP_TYPES and part not in found:
                found.append(part)
    return ",".join(found)


def _preference(line: ContentLine) -> int:
    pref = line.params.get("PREF")
    if pref:
        return int(pref[0]) if str(pref[0]).isdigit() else 1
    types = [*line.params.get("TYPE", []), *line.singletonparams]
    if any("pref" in str(t).lower().split(",") for t in types):
        return 1
    return NO_PREFERENCE


def _by_preference(card: dict[str, list[ContentLine]], name: str) -> list[ContentLine]:
    lines = card.get(name, [])
    return sorted(lines, key=_preference)  # stable: equally preferred stay in file order


def _numbered(key: str, index: int) -> str:
    return key if index == 0 else f"{key}.{index + 1}"


def _kind(types: str, kind_by_type: tuple[tuple[str, str], ...]) -> str:
    found = set(types.split(","))
    return next((kind for type_, kind in kind_by_type if type_ in found), "")


def _point_key(name: str, index: int, kind: str) -> str:
    """ "tel", "tel.2", … with the kind after the position: "tel.work", "tel.2.cell"."""
    return _numbered(name, index) + (f".{kind}" if kind else "")


def point_column(column: str) -> tuple[str, int, str] | None:
    """An email's or phone's column as (name, position, kind): "tel.2.work" -> ("tel", 2,
    "work"), "email" -> ("email", 1, ""); None for any other column."""
    name, *rest = column.split(".")
    if name not in ("email", "tel") or len(rest) > 2:
        return None
    position = int(rest.pop(0)) if rest and rest[0].isdigit() else 1
    if len(rest) > 1:
        return None
    return name, position, rest[0] if rest else ""


def points_by_position(columns: list[str]) -> list[str]:
    """`columns` with the emails, and the phones, in order of position where the first of
    them was: the first email and phone of a row become the primary ones, and a card lists
    its preferred one first, whatever its kind ("tel.home" before "tel.2.work")."""
    first: dict[str, int] = {}
    keyed: list[tuple[tuple[int, int], str]] = []
    for index, column in enumerate(columns):
        point = point_column(column)
        if point is None:
            keyed.append(((index, 0), column))
        else:
            keyed.append(((first.setdefault(point[0], index), point[1]), column))
    return [column for _, column in sorted(keyed, key=lambda item: item[0])]


def mapping_key(column: str) -> str:
    """The key of VCARD_DEFAULT_MAPPING for a column: an email's or phone's without its
    position ("tel.2.work" -> "tel.work", "email.3" -> "email"), any other as it is."""
    point = point_column(column)
    if point is None:
        return column
    name, _, kind = point
    return f"{name}.{kind}" if kind else name


def _tel_text(value: str) -> str:
    """A tel: URI as the number a person would type ("+44 20 ...;ext=12" -> "... ext. 12")."""
    text = _text(value)
    if text.lower().startswith("tel:"):
        number, *params = text[4:].split(";")
        text = number
        for param in params:
            name, _, param_value = param.partition("=")
            if name.lower() == "ext" and param_value:
                text += f" ext. {param_value}"
    return text


N_COMPONENTS = ("family", "given", "additional", "prefix", "suffix")
ADR_COMPONENTS = ("box", "extended", "street", "city", "region", "code", "country")


def _card_to_dict(card: dict[str, list[ContentLine]]) -> dict[str, Any]:
    row: dict[str, Any] = {}

    def put(key: str, value: Any) -> None:
        if value:
            row[key] = value

    def first(name: str) -> Any:
        lines = card.get(name)
        return lines[0].value if lines else None

    put("uid", _text(first("uid")))
    put("fn", _text(first("fn")))
    name = _components(first("n"), N_COMPONENTS)
    for component in ("prefix", "given", "additional", "family", "suffix"):
        put(f"n.{component}", name[component])
    put("org", _components(first("org"), ("name",))["name"])
    put("title", _text(first("title")))
    put("bday", _text(first("bday")))
    put("note", _text(first("note")))
    for index, line in enumerate(_by_preference(card, "email")):
        email = _text(line.value)
        if email.lower().startswith("mailto:"):
            email = email[7:]
        put(_point_key("email", index, _kind(_types(line), EMAIL_KIND_BY_TYPE)), email)
    for index, line in enumerate(_by_preference(card, "tel")):
        put(
            _point_key("tel", index, _kind(_types(line), PHONE_KIND_BY_TYPE)), _tel_text(line.value)
        )
    for index, line in enumerate(_by_preference(card, "adr")):
        address = _components(line.value, ADR_COMPONENTS)
        box = f"PO Box {address['box']}" if address["box"] else ""
        street = "\n".join(p for p in (address["street"], address["extended"], box) if p)
        prefix = _numbered("adr", index)
        put(f"{prefix}.street", street)
        for component in ("city", "region", "code", "country"):
            put(f"{prefix}.{component}", address[component])
        put(f"{prefix}.type", _types(line))
    return row


def _read_card(lines: list[bytes], start: int) -> dict[str, Any]:
    """One card as a flat dict, or {"__error__": reason} (never an exception)."""
    try:
        return _card_to_dict(_parse(_decode(b"".join(lines)), start))
    except VObjectError as exc:
        number = getattr(exc, "lineNumber", None)  # vobject sets it only when known
        return {"__error__": f"line {number}: {exc.msg}" if number else str(exc.msg)}
    except Exception as exc:  # a card that cannot be made sense of: quarantined, not fatal
        return {"__error__": f"{type(exc).__name__}: {exc}"}


def _lines(stream: BinaryIO) -> Iterator[bytes]:
    """The stream's lines as bytes; a UTF-16 file (some Windows exports) re-encoded to UTF-8,
    a UTF-8 byte order mark dropped."""
    first = stream.readline()
    if first.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = (first + stream.read()).decode("utf-16")
        yield from io.BytesIO(text.encode("utf-8"))
        return
    yield first.removeprefix(b"\xef\xbb\xbf")
    yield from stream


def read_vcards(stream: BinaryIO) -> Iterator[tuple[int, dict[str, Any]]]:
    """Every card of a .vcf file as (the line its BEGIN:VCARD is on, flat dict).

    Keys: "uid", "fn", "n.prefix", "n.given", "n.additional", "n.family", "n.suffix", "org",
    "title", "bday" (as written in the file), "note"; "email", "email.2", … and "tel",
    "tel.2", …, each followed by its kind when its TYPE has one ("email.work", "email.2.home";
    "tel.cell", "tel.2.work", "tel.3.home", "tel.4.fax"); "adr.street", "adr.city",
    "adr.region", "adr.code", "adr.country", "adr.type" (then "adr.2.street", …). The
    preferred email, phone and address come first; empty values are left out. A card that
    cannot be read is yielded as (line, {"__error__": reason}) and reading goes on.
    """
    card: list[bytes] | None = None
    start = 0
    number = 0
    for number, line in enumerate(_lines(stream), start=1):
        marker = line.strip().upper()
        if marker == b"BEGIN:VCARD":
            if card is not None:
                yield start, {"__error__": f"line {start}: the card has no END:VCARD."}
            card, start = [line], number
        elif card is not None:
            card.append(line)
            if marker == b"END:VCARD":
                yield start, _read_card(card, start)
                card = None
    if card is not None:
        yield start, {"__error__": f"line {start}: the card has no END:VCARD."}
