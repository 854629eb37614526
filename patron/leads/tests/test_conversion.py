from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from patron.core.models import AuditEvent
from patron.customers import services as customer_services
from patron.customers.models import Account, AccountRelationship, Contact, TimelineEntry
from patron.leads import selectors, services
from patron.leads.models import Lead
from patron.sales.models import Opportunity

from .factories import make_lead

pytestmark = pytest.mark.django_db


def _lead(actor, **extra):
    return make_lead(
        actor,
        first_name="Ada",
        last_name="Lovelace",
        email="ada@analytical.example",
        phone="+44 20 7946 0018",
        company="Analytical Engines",
        job_title="Director",
        country="GB",
        employees=40,
        **extra,
    )


def test_convert_creates_contact_account_and_opportunity(rep_north):
    lead = _lead(rep_north)
    done = services.lead_convert(
        actor=rep_north,
        lead=lead,
        opportunity={"name": "Engines", "amount": Decimal("1200.00")},
        expected_version=lead.version,
    )
    contact, account, deal = done.contact, done.account, done.opportunity
    assert (contact.first_name, contact.last_name, contact.job_title) == (
        "Ada",
        "Lovelace",
        "Director",
    )
    assert list(contact.emailaddresss.values_list("email", flat=True)) == ["ada@analytical.example"]
    assert list(contact.phonenumbers.values_list("e164", flat=True)) == ["+442079460018"]
    assert (account.name, account.employee_count) == ("Analytical Engines", 40)
    assert AccountRelationship.objects.filter(contact=contact, account=account).exists()
    assert (deal.name, deal.amount, deal.account, deal.primary_contact) == (
        "Engines",
        Decimal("1200.00"),
        account,
        contact,
    )
    assert contact.owner == account.owner == deal.owner == rep_north
    lead.refresh_from_db()
    assert lead.status == "converted" and lead.converted_at is not None
    assert (lead.converted_contact, lead.converted_account, lead.converted_opportunity) == (
        contact,
        account,
        deal,
    )
    entry = TimelineEntry.objects.get(kind="lead")
    assert entry.contact == contact and entry.account == account
    assert entry.subject == "Converted from lead: Ada Lovelace"
    assert entry.data["lead_id"] == lead.pk
    event = AuditEvent.objects.filter(object_id=lead.pk, action="update").latest("id")
    assert event.changes["status"] == ["new", "converted"]
    assert event.changes["converted_contact"] == [None, contact.pk]


def test_duplicates_are_proposed_and_an_existing_contact_reused(rep_north, admin_user):
    existing = customer_services.contact_create(
        actor=admin_user,
        data={"first_name": "Augusta", "last_name": "King", "owner": rep_north},
        emails=[{"email": "ADA@analytical.example"}],
    )
    account = customer_services.account_create(
        actor=admin_user, data={"name": "Analytical Engines", "owner": rep_north}
    )
    lead = _lead(rep_north)
    found = selectors.conversion_candidates(user=rep_north, lead=lead)
    assert [(c["record"], c["reasons"]) for c in found.contacts] == [
        (existing, ["same email ada@analytical.example"])
    ]
    assert [a["record"] for a in found.accounts] == [account]

    done = services.lead_convert(actor=rep_north, lead=lead, contact=existing, account=account)
    assert done.contact == existing and done.account == account and done.opportunity is None
    assert Contact.objects.count() == 1 and Account.objects.count() == 1
    assert AccountRelationship.objects.filter(contact=existing, account=account).count() == 1
    lead.refresh_from_db()
    assert lead.converted_contact == existing


def test_no_account_when_asked(rep_north):
    lead = _lead(rep_north)
    done = services.lead_convert(actor=rep_north, lead=lead, create_account=False)
    assert done.account is None and not Account.objects.exists()
    with pytest.raises(ValidationError):
        services.lead_convert(actor=rep_north, lead=lead)


def test_opportunity_without_account_refused_and_nothing_written(rep_north):
    lead = make_lead(rep_north, company="")
    with pytest.raises(ValidationError) as caught:
        services.lead_convert(actor=rep_north, lead=lead, opportunity={"name": "X"})
    assert "opportunity" in caught.value.message_dict
    assert not Contact.objects.exists() and not Opportunity.objects.exists()
    lead.refresh_from_db()
    assert lead.status == "new"


def test_converted_lead_is_read_only(rep_north):
    lead = _lead(rep_north)
    services.lead_convert(actor=rep_north, lead=lead)
    lead.refresh_from_db()
    with pytest.raises(ValidationError, match="read-only"):
        services.lead_update(
            actor=rep_north, lead=lead, expected_version=lead.version, data={"first_name": "Bo"}
        )
    with pytest.raises(ValidationError, match="read-only"):
        services.lead_activity_add(actor=rep_north, lead=lead, data={"kind": "email_opened"})
    lead.refresh_from_db()
    assert lead.first_name == "Ada" and not lead.activities.exists()


def test_another_reps_contact_cannot_be_used(rep_north, rep_south, admin_user):
    theirs = customer_services.contact_create(
        actor=admin_user, data={"first_name": "Other", "owner": rep_south}
    )
    lead = _lead(rep_north)
    with pytest.raises(ValidationError) as caught:
        services.lead_convert(actor=rep_north, lead=lead, contact=theirs)
    assert "contact" in caught.value.message_dict
    assert Lead.objects.get(pk=lead.pk).status == "new"
