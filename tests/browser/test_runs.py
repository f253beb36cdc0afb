"""Runs seen from the editor: a failing node shows its error on its card, a run survives a
reload of the page, and every run is listed and opens on its own page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.accounts import Account
from tests.browser.conftest import Shots
from tests.browser.editor import create_workflow, node_card

pytestmark = pytest.mark.e2e

RUN_TIMEOUT_MS = 30_000
# A link-local address (cloud metadata): the http node's SSRF guard refuses it before
# anything leaves the machine.
REFUSED_URL = "http://169.254.169.254/latest/meta-data/"


def test_failing_node_shows_its_error_on_the_canvas(
    page: Page, context: BrowserContext, account: Account, shot: Shots
) -> None:
    workflow_id = create_workflow(
        context,
        {
            "name": "Reads cloud metadata",
            "nodes": [
                {"id": "start", "type": "trigger.manual", "position": {"x": 0, "y": 0}},
                {
                    "id": "metadata",
                    "type": "http",
                    "config": {"url": REFUSED_URL},
                    "position": {"x": 300, "y": 0},
                },
            ],
            "edges": [{"source": "start", "target": "metadata"}],
        },
    )
    page.goto(f"/workflows/{workflow_id}")
    expect(node_card(page, "metadata")).to_have_attribute("data-status", "idle")
    shot(page, "editor")

    page.get_by_test_id("run-button").click()
    expect(node_card(page, "metadata")).to_have_attribute(
        "data-status", "failed", timeout=RUN_TIMEOUT_MS
    )
    expect(page.get_by_test_id("node-error-metadata")).to_contain_text(
        "refusing to connect to 169.254.169.254"
    )
    expect(node_card(page, "start")).to_have_attribute("data-status", "succeeded")
    expect(page.get_by_test_id("run-status")).to_have_attribute("data-status", "failed")
    shot(page, "failed-on-canvas")

    # The execution page opens on the failed node, its error in full.
    page.get_by_test_id("open-execution").click()
    detail = page.get_by_test_id("node-detail")
    expect(detail).to_have_attribute("data-node-id", "metadata")
    expect(detail.get_by_test_id("node-error")).to_contain_text("169.254.169.254")
    shot(page, "execution-error")

    # The executions list shows it; a row opens the same execution.
    execution_url = page.url
    page.goto(f"/workflows/{workflow_id}/executions")
    rows = page.get_by_test_id("execution-row")
    expect(rows).to_have_count(1)
    expect(rows).to_have_attribute("data-status", "failed")
    shot(page, "executions-list")
    rows.get_by_role("link").first.click()
    expect(page).to_have_url(execution_url)
    expect(page.get_by_test_id("timeline")).to_be_visible()
    shot(page, "execution-from-list")

    # The workflow list tells the last run.
    page.goto("/")
    row = page.locator(f'[data-testid="workflow-row"][data-workflow-id="{workflow_id}"]')
    expect(row.get_by_test_id("last-run")).to_contain_text("failed")
    shot(page, "workflow-list-last-run")


def test_run_survives_a_reload(
    page: Page, context: BrowserContext, account: Account, shot: Shots
) -> None:
    workflow_id = create_workflow(
        context,
        {
            "name": "Waits, then answers",
            "nodes": [
                {"id": "start", "type": "trigger.manual", "position": {"x": 0, "y": 0}},
                {
                    "id": "pause",
                    "type": "wait",
                    "config": {"seconds": 4},
                    "position": {"x": 300, "y": 0},
                },
                {
                    "id": "answer",
                    "type": "transform",
                    "config": {"mapping": {"done": True}},
                    "position": {"x": 600, "y": 0},
                },
            ],
            "edges": [
                {"source": "start", "target": "pause"},
                {"source": "pause", "target": "answer"},
            ],
        },
    )
    page.goto(f"/workflows/{workflow_id}")
    page.get_by_test_id("run-button").click()
    expect(node_card(page, "pause")).to_have_attribute("data-status", "running")
    shot(page, "waiting")

    page.reload()
    # Back on the same run, still waiting (the run button was not pressed again), then live
    # to its end.
    expect(page.get_by_test_id("run-status")).to_have_attribute("data-status", "running")
    expect(node_card(page, "pause")).to_have_attribute("data-status", "running")
    shot(page, "reloaded")
    for node_id in ("start", "pause", "answer"):
        expect(node_card(page, node_id)).to_have_attribute(
            "data-status", "succeeded", timeout=RUN_TIMEOUT_MS
        )
    expect(page.get_by_test_id("run-status")).to_have_attribute("data-status", "succeeded")
    shot(page, "finished-after-reload")
    assert re.search(rf"/workflows/{workflow_id}$", page.url)
