"""Undo and redo on the canvas, and what autosave keeps of them."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.accounts import Account
from tests.browser.conftest import Shots
from tests.browser.editor import (
    NODE,
    connect,
    drop_from_palette,
    expect_saved,
    make_room,
    node_card,
    pane_point,
)

pytestmark = pytest.mark.e2e


def test_undo_and_redo(page: Page, account: Account, shot: Shots) -> None:
    page.goto("/")
    page.get_by_test_id("new-workflow").click()
    expect(node_card(page, "trigger")).to_be_visible()
    nodes = page.locator(NODE)
    edges = page.locator(".react-flow__edge")

    make_room(page)
    added = drop_from_palette(page, "transform", *pane_point(page, 0.3, 0.2))
    connect(page, "trigger", added)
    expect_saved(page)
    shot(page, "node-added-and-connected")

    page.keyboard.press("Control+z")  # the connection
    expect(edges).to_have_count(0)
    page.keyboard.press("Control+z")  # the node
    expect(nodes).to_have_count(1)
    expect(node_card(page, added)).to_have_count(0)
    expect_saved(page)
    shot(page, "undone")

    page.keyboard.press("Control+Shift+z")
    expect(node_card(page, added)).to_be_visible()
    page.keyboard.press("Control+y")
    expect(edges).to_have_count(1)
    expect_saved(page)
    shot(page, "redone")

    # Autosave kept the redone graph.
    page.reload()
    expect(node_card(page, added)).to_be_visible()
    expect(edges).to_have_count(1)
    shot(page, "after-reload")
