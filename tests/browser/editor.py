"""Driving the canvas editor: workflows made through the API, nodes dropped from the palette,
handles joined with the mouse, as React Flow draws them."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import BrowserContext, Locator, Page, expect

NODE = ".react-flow__node"
PANE = ".react-flow__pane"


def create_workflow(context: BrowserContext, graph: dict[str, Any]) -> str:
    """A saved workflow of the context's user, for tests whose subject is not building it."""
    response = context.request.post("/api/workflows", data=graph)
    assert response.status == 201, f"{response.status} {response.text()}"
    workflow_id: str = response.json()["id"]
    return workflow_id


def node_card(page: Page, node_id: str) -> Locator:
    return page.get_by_test_id(f"node-{node_id}")


def node_ids(page: Page) -> list[str]:
    ids: list[str] = page.locator(NODE).evaluate_all("nodes => nodes.map(n => n.dataset.id)")
    return ids


def drop_from_palette(page: Page, node_type: str, x: float, y: float) -> str:
    """Drag `node_type` from the palette onto the pane at (x, y) of the pane; the new node's id."""
    before = set(node_ids(page))
    page.get_by_test_id(f"palette-item-{node_type}").drag_to(
        page.locator(PANE), target_position={"x": x, "y": y}
    )
    expect(page.locator(NODE)).to_have_count(len(before) + 1)
    (added,) = set(node_ids(page)) - before
    return added


def _centre(handle: Locator) -> tuple[float, float]:
    box = handle.bounding_box()
    assert box is not None, f"{handle} is not on screen"
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def connect(page: Page, source: str, target: str, source_handle: str = "default") -> None:
    """Press on `source`'s output handle (a condition's branch, or "error"), move to `target`'s
    input handle and let go, as a person joins two nodes."""
    edges = page.locator(".react-flow__edge")
    before = edges.count()
    start_x, start_y = _centre(page.get_by_test_id(f"handle-{source}-source-{source_handle}"))
    end_x, end_y = _centre(page.get_by_test_id(f"handle-{target}-target"))
    page.mouse.move(start_x, start_y)
    page.mouse.down()
    page.mouse.move((start_x + end_x) / 2, (start_y + end_y) / 2, steps=5)
    page.mouse.move(end_x, end_y, steps=5)
    page.mouse.up()
    expect(edges).to_have_count(before + 1)


def expect_saved(page: Page) -> None:
    expect(page.get_by_test_id("save-state")).to_have_text("Saved")


def make_room(page: Page) -> None:
    """Zoom the canvas out (it opens fitted to one node, at its largest), so that the nodes a
    test drops lie side by side, clear of the minimap and the controls."""
    zoom_out = page.locator(".react-flow__controls-zoomout")
    zoom_out.click()
    zoom_out.click()
    page.wait_for_function(
        """() => {
            const viewport = document.querySelector(".react-flow__viewport");
            const scale = /scale\\(([\\d.]+)\\)/.exec(viewport?.style.transform ?? "");
            return scale !== null && Number(scale[1]) < 0.9;
        }"""
    )


def pane_point(page: Page, x: float, y: float) -> tuple[float, float]:
    """The point at fractions (x, y) of the pane's width and height, relative to the pane."""
    box = page.locator(PANE).bounding_box()
    assert box is not None, "the canvas is not on screen"
    return box["width"] * x, box["height"] * y
