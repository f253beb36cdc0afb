"""The editor in a real browser (Debian's chromium, driven by Playwright) against the real stack.

One stack for the package: every service as its own process (`LocalCluster`), on a database
and vhost of its own, with the gateway serving the built editor (`PORTICO_WEB_DIR`). Each test
gets a fresh browser context at 1280x800; `shot(page, name)` saves a screenshot of each screen
it visits under `<artifacts>/<test>/NN-<name>.png`, and a failing test leaves a last one.

Playwright's sync API marks its own event loop as running between calls, so the browser lives
for this package only: the async tests elsewhere in the session must not see that loop.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    ViewportSize,
    WebError,
    expect,
    sync_playwright,
)

from bench.infra import Infra, isolated_infra
from tests.browser.accounts import Account, sign_up_by_api
from tests.e2e.outside import _Server, outside_api
from tests.harness.cluster import LocalCluster

REPO = Path(__file__).resolve().parents[2]
WEB_DIST = REPO / "web" / "dist"
CHROMIUM = "/usr/bin/chromium"
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
ACTION_TIMEOUT_MS = 10_000

_reports = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # Kept on the item so the page fixture's teardown knows whether the test failed.
    report = yield
    item.stash.setdefault(_reports, {})[report.when] = report
    return report


@pytest.fixture(scope="session")
def web_dist() -> Path:
    if not (WEB_DIST / "index.html").is_file():
        pytest.fail(
            "build the editor first: ./dev test builds it, or `cd web && npm ci && npm run build`",
            pytrace=False,
        )
    return WEB_DIST


@pytest.fixture(scope="package")
def web_infra(infra: Infra) -> Iterator[Infra]:
    """A database and vhost of this stack's own where the local servers can make one, so the
    stack's consumers never take the messages of another cluster running in the session."""
    if infra.amqp_url.startswith("amqp://guest:guest@127.0.0.1:5672/portico_test_"):
        with isolated_infra("portico_web") as apart:
            yield apart
    else:
        yield infra


@pytest.fixture(scope="package")
def stack(
    web_infra: Infra, web_dist: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalCluster]:
    running = LocalCluster(
        infra=web_infra,
        log_dir=tmp_path_factory.mktemp("browser-stack-logs"),
        extra_env={
            "PORTICO_WEB_DIR": str(web_dist),
            # The http nodes call the local stand-in API (`outside`); every other private
            # address stays refused, which is how a test makes a node fail.
            "PORTICO_HTTP_ALLOW_HOSTS": "127.0.0.1",
            # Every test signs a user up and opens WebSockets from 127.0.0.1.
            "PORTICO_RATE_LIMIT_SIGNUP_PER_IP": "1000/hour",
            "PORTICO_RATE_LIMIT_WS_CONNECT_PER_IP": "1000/minute",
        },
    )
    running.start_all()
    try:
        yield running
    finally:
        running.stop_all()


@pytest.fixture(scope="package")
def outside() -> Iterator[_Server]:
    """A small local HTTP API the workflows' http nodes call."""
    with outside_api() as server:
        yield server


@pytest.fixture(scope="package")
def playwright(stack: LocalCluster) -> Iterator[Playwright]:
    # After the stack and before its teardown: making and dropping its database runs
    # asyncio.run, which refuses to start while Playwright's loop is marked running.
    with sync_playwright() as driver:
        expect.set_options(timeout=ACTION_TIMEOUT_MS)
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium", pytrace=False)
    launched = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
    )
    yield launched
    launched.close()


def artifacts_root() -> Path:
    configured = os.environ.get("PORTICO_TEST_ARTIFACTS")
    return Path(configured) if configured else REPO / "artifacts" / "browser"


@dataclass
class Shots:
    """Numbered screenshots of one test, in the order it saw the screens."""

    folder: Path
    taken: list[Path] = field(default_factory=list)

    def __call__(self, page: Page, name: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        page.screenshot(path=path, full_page=True)
        self.taken.append(path)
        return path


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Shots:
    folder = artifacts_root() / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    return Shots(folder)


@dataclass
class Troubles:
    """What went wrong inside the page: uncaught errors fail the test; console errors are
    printed with a failure to explain it."""

    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def on_web_error(self, error: WebError) -> None:
        self.page_errors.append(f"{error.error.name}: {error.error.message}\n{error.error.stack}")

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(f"{message.location.get('url')}: {message.text}")


@pytest.fixture
def troubles() -> Troubles:
    return Troubles()


@pytest.fixture
def context(browser: Browser, stack: LocalCluster, troubles: Troubles) -> Iterator[BrowserContext]:
    """A fresh browser profile (cookies, storage) on the stack, its pages' errors collected."""
    opened = browser.new_context(base_url=stack.base_url, viewport=VIEWPORT)
    opened.set_default_timeout(ACTION_TIMEOUT_MS)
    opened.on("weberror", troubles.on_web_error)
    opened.on("console", troubles.on_console)
    yield opened
    opened.close()


@pytest.fixture
def page(
    context: BrowserContext, troubles: Troubles, shot: Shots, request: pytest.FixtureRequest
) -> Iterator[Page]:
    opened = context.new_page()
    yield opened
    reports = request.node.stash.get(_reports, {})
    if "call" in reports and reports["call"].failed and not opened.is_closed():
        shot(opened, "failure")
        for line in troubles.console_errors:
            print(f"browser console: {line}")
    if troubles.page_errors:
        pytest.fail("uncaught error in the page:\n" + "\n".join(troubles.page_errors))


@pytest.fixture
def account(context: BrowserContext) -> Account:
    """A fresh user, signed up through the API; the browser context holds its session."""
    return sign_up_by_api(context)
