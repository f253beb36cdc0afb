"""The workflow list: search by name, rename, delete."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.accounts import Account
from tests.browser.conftest import Shots
from tests.browser.editor import create_workflow

pytestmark = pytest.mark.e2e


def named(name: str) -> dict[str, object]:
    return {"name": name, "nodes": [{"id": "trigger", "type": "trigger.manual"}], "edges": []}


def test_search_rename_and_delete(
    page: Page, context: BrowserContext, account: Account, shot: Shots
) -> None:
    invoices = create_workflow(context, named("Invoice reminders"))
    create_workflow(context, named("Weekly digest"))
    create_workflow(context, named("Invoice archive"))
    rows = page.get_by_test_id("workflow-row")

    page.goto("/")
    expect(rows).to_have_count(3)
    shot(page, "three-workflows")

    page.get_by_test_id("workflow-search").fill("invoice")
    expect(rows).to_have_count(2)
    expect(page.get_by_test_id("workflow-row").filter(has_text="Weekly digest")).to_have_count(0)
    shot(page, "searched")

    row = page.locator(f'[data-testid="workflow-row"][data-workflow-id="{invoices}"]')
    row.get_by_test_id("rename-workflow").click()
    dialog = page.get_by_role("dialog", name="Rename workflow")
    dialog.get_by_label("Name").fill("Invoice nudges")
    shot(page, "rename-dialog")
    dialog.get_by_role("button", name="Rename").click()
    expect(dialog).to_be_hidden()
    expect(row.get_by_role("link", name="Invoice nudges")).to_be_visible()
    shot(page, "renamed")

    row.get_by_test_id("delete-workflow").click()
    confirm = page.get_by_role("dialog", name="Delete workflow")
    expect(confirm).to_contain_text("Invoice nudges")
    shot(page, "delete-dialog")
    confirm.get_by_test_id("confirm-button").click()
    expect(row).to_have_count(0)
    expect(rows).to_have_count(1)
    shot(page, "deleted")

    # What the list shows is what the server kept.
    page.reload()
    page.get_by_test_id("workflow-search").fill("")
    expect(rows).to_have_count(2)
    expect(page.get_by_role("link", name="Invoice nudges")).to_have_count(0)
    shot(page, "after-reload")
