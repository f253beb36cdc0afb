"""Credentials: created on their page, never shown back, and picked in a node that uses them."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.accounts import Account
from tests.browser.conftest import Shots
from tests.browser.editor import create_workflow, expect_saved, node_card
from tests.e2e.outside import _Server

pytestmark = pytest.mark.e2e

RUN_TIMEOUT_MS = 30_000


def assert_secret_absent(page: Page, secret: str) -> None:
    """Neither the page's text nor any input's value holds the secret."""
    assert secret not in page.content()
    values: list[str] = page.locator("input, textarea").evaluate_all(
        "fields => fields.map(field => field.value)"
    )
    assert all(secret not in value for value in values)


def test_create_a_credential_and_use_it_in_a_node(
    page: Page,
    context: BrowserContext,
    account: Account,
    outside: _Server,
    shot: Shots,
) -> None:
    token = f"tok-{uuid.uuid4().hex}"
    outside.expected_token = token
    page.goto("/credentials")
    expect(page.get_by_test_id("credentials-empty")).to_be_visible()
    shot(page, "no-credentials")

    page.get_by_test_id("new-credential").click()
    dialog = page.get_by_role("dialog", name="New credential")
    dialog.get_by_test_id("credential-type").select_option("http_bearer")
    dialog.get_by_test_id("credential-name").fill("CRM token")
    dialog.get_by_label("Token").fill(token)
    shot(page, "new-credential-filled")
    dialog.get_by_test_id("save-credential").click()
    expect(dialog).to_be_hidden()
    row = page.get_by_test_id("credential-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("CRM token")
    assert_secret_absent(page, token)
    shot(page, "credential-listed")

    # Editing shows the name, never the secret.
    row.get_by_test_id("edit-credential").click()
    editing = page.get_by_role("dialog", name="Edit credential")
    expect(editing.get_by_test_id("keep-secret-note")).to_be_visible()
    expect(editing.get_by_label("Token")).to_have_value("")
    assert_secret_absent(page, token)
    shot(page, "edit-credential")
    editing.get_by_role("button", name="Cancel").click()

    workflow_id = create_workflow(
        context,
        {
            "name": "Private lookup",
            "nodes": [
                {"id": "start", "type": "trigger.manual", "position": {"x": 0, "y": 0}},
                {
                    "id": "private",
                    "type": "http",
                    "config": {"url": outside.url + "/private"},
                    "position": {"x": 300, "y": 0},
                },
            ],
            "edges": [{"source": "start", "target": "private"}],
        },
    )
    page.goto(f"/workflows/{workflow_id}")
    node_card(page, "private").click()
    page.get_by_test_id("credential-picker").select_option(label="CRM token (http_bearer)")
    expect_saved(page)
    shot(page, "credential-picked")

    page.get_by_test_id("run-button").click()
    expect(node_card(page, "private")).to_have_attribute(
        "data-status", "succeeded", timeout=RUN_TIMEOUT_MS
    )
    page.get_by_test_id("open-execution").click()
    page.get_by_test_id("timeline").get_by_role("button", name="private", exact=True).click()
    expect(page.get_by_test_id("node-output")).to_contain_text('"authorized": true')
    assert_secret_absent(page, token)
    shot(page, "authorized-without-the-secret")
