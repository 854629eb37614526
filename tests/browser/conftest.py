"""Shared pieces of the browser tests: Debian's Chromium through Playwright, and signing in."""

import os
from collections.abc import Callable

import pytest

PASSWORD = "pw-for-tests-1"  # noqa: S105 - the factories' test password


@pytest.fixture
def browser():
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield instance
        instance.close()


@pytest.fixture
def sign_in() -> Callable[..., None]:
    def sign_in(page, base_url: str, username: str) -> None:
        page.goto(f"{base_url}/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base_url}/")

    return sign_in
