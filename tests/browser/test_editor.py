"""Build a workflow on the canvas, configure a node through its form, run it and read the
result on the execution page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.accounts import Account
from tests.browser.conftest import Shots
from tests.browser.editor import (
    connect,
    drop_from_palette,
    expect_saved,
    make_room,
    node_card,
    pane_point,
)
from tests.e2e.outside import _Server

pytestmark = pytest.mark.e2e

RUN_TIMEOUT_MS = 30_000


def test_build_configure_run_and_read_the_output(
    page: Page, account: Account, outside: _Server, shot: Shots
) -> None:
    page.goto("/")
    page.get_by_test_id("new-workflow").click()
    expect(page).to_have_url(re.compile(r"/workflows/[^/]+$"))
    expect(node_card(page, "trigger")).to_be_visible()
    expect_saved(page)
    shot(page, "new-workflow")

    # Two nodes from the palette join the trigger the new workflow starts with, in a row
    # above it.
    make_room(page)
    lookup = drop_from_palette(page, "http", *pane_point(page, 0.3, 0.2))
    shape = drop_from_palette(page, "transform", *pane_point(page, 0.72, 0.2))
    assert (lookup, shape) == ("http_1", "transform_1")
    connect(page, "trigger", lookup)
    connect(page, lookup, shape)
    shot(page, "three-connected-nodes")

    node_card(page, lookup).click()
    config = page.get_by_test_id("node-config")
    config.get_by_label("URL").fill(outside.url + "/users?email={{ trigger.email }}")
    expect_saved(page)
    shot(page, "http-node-configured")

    page.get_by_test_id("run-payload").fill('{"email": "ada@example.com"}')
    page.get_by_test_id("run-button").click()
    for node_id in ("trigger", lookup, shape):
        expect(node_card(page, node_id)).to_have_attribute(
            "data-status", "succeeded", timeout=RUN_TIMEOUT_MS
        )
    expect(page.get_by_test_id("run-status")).to_have_attribute("data-status", "succeeded")
    shot(page, "run-succeeded")

    page.get_by_test_id("open-execution").click()
    expect(page).to_have_url(re.compile(r"/executions/[^/]+$"))
    expect(page.get_by_test_id("execution-status")).to_have_attribute("data-status", "succeeded")
    expect(page.get_by_test_id("timeline-row")).to_have_count(3)
    page.get_by_test_id("timeline").get_by_role("button", name=lookup, exact=True).click()
    detail = page.get_by_test_id("node-detail")
    expect(detail).to_have_attribute("data-node-id", lookup)
    expect(detail.get_by_test_id("node-output")).to_contain_text('"plan": "enterprise"')
    shot(page, "execution-node-output")
