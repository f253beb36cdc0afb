"""A newcomer opens Portico, is sent to log in, signs up and lands on an empty workflow list."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.accounts import fresh_account
from tests.browser.conftest import Shots

pytestmark = pytest.mark.e2e


def test_sign_up_through_the_ui(page: Page, shot: Shots) -> None:
    account = fresh_account()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))
    shot(page, "login")

    page.get_by_role("link", name="Create an account").click()
    expect(page).to_have_url(re.compile(r"/signup"))
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    shot(page, "signup-filled")
    page.get_by_role("button", name="Sign up").click()

    expect(page.get_by_test_id("current-user")).to_have_text(account.email)
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_test_id("workflows-empty")).to_be_visible()
    shot(page, "workflow-list-empty")
