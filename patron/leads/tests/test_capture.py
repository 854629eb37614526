import json
import time

import pytest
from django.test import Client, override_settings

from patron.leads import capture, services
from patron.leads.models import Lead, LeadActivity

pytestmark = pytest.mark.django_db
URL = "/leads/capture/contact-us/"


def _token(web_form, seconds_ago: float = 10) -> str:
    return capture.issue_token(web_form, now=time.time() - seconds_ago)


def _form(web_form, **extra):
    return {
        "first_name": "Grace",
        "last_name": "Hopper",
        "email": "Grace@Navy.example.com",
        "company": "US Navy",
        "job_title": "Rear Admiral",
        "_ts": _token(web_form),
        "website": "",
        **extra,
    }


def test_valid_form_post_creates_a_scored_routed_lead(web_form, rep_north):
    response = Client().post(URL, _form(web_form, utm_source="newsletter"))
    assert response.status_code == 201
    assert b"Thank you" in response.content
    lead = Lead.objects.get()
    assert (lead.first_name, lead.email, lead.company) == (
        "Grace",
        "Grace@navy.example.com",
        "US Navy",
    )
    assert lead.source == "web_form" and lead.web_form == web_form
    assert lead.campaign == "Spring webinar" and lead.utm_source == "newsletter"
    assert lead.owner == rep_north and lead.team == rep_north.team
    assert list(LeadActivity.objects.values_list("kind", flat=True)) == ["form_submitted"]


def test_json_post_and_redirect(web_form):
    body = {k: v for k, v in _form(web_form).items()}
    response = Client().post(URL, json.dumps(body), content_type="application/json")
    assert response.status_code == 201
    assert response.json() == {"status": "received"}
    assert response["Access-Control-Allow-Origin"] == "*"
    web_form.redirect_url = "https://example.com/thanks"
    web_form.save()
    response = Client().post(URL, _form(web_form, email="other@example.com"))
    assert response.status_code == 302 and response["Location"] == "https://example.com/thanks"
    assert Lead.objects.count() == 2


def test_fields_the_form_does_not_allow_are_ignored(web_form):
    Client().post(URL, _form(web_form, phone="+33 1 42 68 53 00", status="qualified"))
    lead = Lead.objects.get()
    assert lead.phone == "" and lead.status == "new"


def test_honeypot_is_answered_like_success_and_stores_nothing(web_form):
    response = Client().post(URL, _form(web_form, website="http://spam.example"))
    assert response.status_code == 201
    assert not Lead.objects.exists()


def test_too_fast_is_discarded(web_form):
    response = Client().post(URL, _form(web_form, _ts=_token(web_form, seconds_ago=0.5)))
    assert response.status_code == 201
    assert not Lead.objects.exists()


@pytest.mark.parametrize("token", ["", "forged", "expired"])
def test_missing_forged_or_expired_token_refused(web_form, token):
    if token == "expired":
        token = _token(web_form, seconds_ago=capture.TOKEN_MAX_AGE + 5)
    response = Client().post(URL, _form(web_form, _ts=token), HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert "reload the page" in response.json()["detail"]
    assert not Lead.objects.exists()


def test_bad_email_refused_with_reason(web_form):
    response = Client().post(
        URL, json.dumps(_form(web_form, email="not-an-email")), content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "email"
    html = Client().post(URL, _form(web_form, email="nobody@"))
    assert html.status_code == 400 and b"Please check the form" in html.content
    missing = Client().post(URL, _form(web_form, email=""), HTTP_ACCEPT="application/json")
    assert missing.status_code == 400
    assert not Lead.objects.exists()


@override_settings(PATRON_LEADS_RATE_LIMITS={"per_ip": (2, 60), "per_form": (100, 60)})
def test_rate_limited_per_address(web_form):
    client = Client()
    for i in range(2):
        assert client.post(URL, _form(web_form, email=f"a{i}@example.com")).status_code == 201
    refused = client.post(URL, _form(web_form, email="a3@example.com"))
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert Lead.objects.count() == 2
    other_address = Client(REMOTE_ADDR="10.0.0.9")
    assert other_address.post(URL, _form(web_form, email="b@example.com")).status_code == 201


@override_settings(PATRON_LEADS_RATE_LIMITS={"per_ip": (100, 60), "per_form": (1, 60)})
def test_rate_limited_per_form(web_form):
    assert Client(REMOTE_ADDR="10.0.0.1").post(URL, _form(web_form)).status_code == 201
    refused = Client(REMOTE_ADDR="10.0.0.2").post(
        URL, _form(web_form, email="x@example.com"), HTTP_ACCEPT="application/json"
    )
    assert refused.status_code == 429 and "Too many" in refused.json()["detail"]
    assert Lead.objects.count() == 1


def test_unknown_or_inactive_form_and_get(web_form):
    assert Client().post("/leads/capture/nope/", {}).status_code == 404
    web_form.is_active = False
    web_form.save()
    assert Client().post(URL, _form(web_form)).status_code == 404
    assert Client().get(URL).status_code == 405


def test_token_endpoint_and_snippet(web_form):
    token = Client().get(URL + "token/").json()["token"]
    assert 0 <= capture.token_age(web_form, token) < 5
    snippet = capture.embed_snippet(web_form, "https://crm.example.com/")
    assert 'action="https://crm.example.com/leads/capture/contact-us/"' in snippet
    assert 'name="website"' in snippet and 'name="_ts"' in snippet
    assert 'name="country"' in snippet and 'name="phone"' not in snippet


def test_every_form_asks_for_the_email(web_form):
    web_form.allowed_fields = ["company"]
    assert services.form_fields(web_form)[:2] == ["email", "company"]
    assert 'name="email" required' in capture.embed_snippet(web_form, "https://x.example")
