"""The board in a real browser: drag a card to another stage, lose one with a reason through
the dialog, and see a stale card refused with a clear message."""

import os

import pytest

from patron.sales import services
from patron.sales.models import Opportunity

from .factories import make_opportunity, stage

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "pw-for-tests-1"  # noqa: S105 - the factories' test password

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="run scripts/ensure-chromium.sh"),
]


@pytest.fixture
def page(live_server):
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1600, "height": 900})
        page.set_default_timeout(10_000)
        yield page
        browser.close()


def test_drag_and_drop_moves(live_server, page, rep_north, account_north):
    from playwright.sync_api import expect

    first = make_opportunity(rep_north, account_north, name="Drag me")
    second = make_opportunity(rep_north, account_north, name="Lose me")
    base = live_server.url
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "rep_north")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.click("nav >> text=Pipeline")
    page.wait_for_url(f"{base}/sales/")

    proposal = page.locator(f'.board-column[data-stage="{stage("Proposal").pk}"]')
    page.locator(f"#opportunity-{first.pk}").drag_to(proposal)
    expect(proposal.locator(f"#opportunity-{first.pk}")).to_be_visible()
    expect(proposal.locator(".count")).to_have_text("1")
    first.refresh_from_db()
    assert first.stage == stage("Proposal")

    lost = page.locator(f'.board-column[data-stage="{stage("Lost").pk}"]')
    page.locator(f"#opportunity-{second.pk}").drag_to(lost)
    dialog = page.locator("#close-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("button[value=confirm]").click()
    expect(page.locator("#close-reason-error")).to_be_visible()  # a lost deal needs a reason
    page.fill("#close-reason", "Chose a competitor")
    dialog.locator("button[value=confirm]").click()
    expect(lost.locator(f"#opportunity-{second.pk}")).to_be_visible()
    second.refresh_from_db()
    assert (second.stage, second.close_reason) == (stage("Lost"), "Chose a competitor")

    # Someone else moves the first card meanwhile: this board's card is stale.
    services.opportunity_move(
        actor=rep_north,
        opportunity=Opportunity.objects.get(pk=first.pk),
        expected_version=2,
        stage=stage("Negotiation"),
    )
    needs = page.locator(f'.board-column[data-stage="{stage("Needs analysis").pk}"]')
    page.locator(f"#opportunity-{first.pk}").drag_to(needs)
    expect(page.locator("#board-error")).to_contain_text("changed by someone else")
    negotiation = page.locator(f'.board-column[data-stage="{stage("Negotiation").pk}"]')
    expect(negotiation.locator(f"#opportunity-{first.pk}")).to_be_visible()
    assert Opportunity.objects.get(pk=first.pk).stage == stage("Negotiation")
