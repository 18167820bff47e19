import os
import weakref
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CHROMIUM

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# Per browser: the Content-Security-Policy violations its pages reported so far.
_CSP_VIOLATIONS: "weakref.WeakKeyDictionary[Any, list[str]]" = weakref.WeakKeyDictionary()


def csp_violations(page: Any) -> list[str]:
    """The CSP violations seen so far by any page of `page`'s browser (browser_page's
    contexts and any the test opened). Non-empty at the end of the test fails it."""
    return _CSP_VIOLATIONS[page.context.browser]


@pytest.fixture
def browser_page(live_server):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the test
    # makes between page actions are still plain synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        violations = _CSP_VIOLATIONS.setdefault(browser, [])
        # Contexts a test opens itself (a phone, a second person) are watched too.
        new_context = browser.new_context

        def watched_new_context(**options: Any) -> Any:
            context = new_context(**options)
            watch_csp_violations(context, into=violations)
            return context

        browser.new_context = watched_new_context  # type: ignore[method-assign]
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
        page = context.new_page()
        page.set_default_timeout(10_000)
        yield page
        context.close()
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    # Every journey doubles as a Content-Security-Policy check: anything the policy
    # blocked (an inline handler, a style attribute, htmx evaluating code) is a bug the
    # user would see as a dead button or an unstyled bar.
    if violations:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(violations))


# Reports each violation the moment it happens, so one on a page the journey has left is
# not lost with that page's window.
CSP_VIOLATION_SCRIPT = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__passerelleCspViolation(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} ` +
    `at ${event.sourceFile || document.location.href}:${event.lineNumber} ` +
    `(${event.sample || "no sample"})`
  );
});
"""


def watch_csp_violations(context: Any, *, into: list[str]) -> None:
    """Append to `into`, as they happen, the CSP violations every page of `context`
    reports and the ones Chromium logs to the console."""

    def record(report: str) -> None:
        into.append(report)

    context.expose_function("__passerelleCspViolation", record)
    context.add_init_script(CSP_VIOLATION_SCRIPT)

    def on_console(message) -> None:
        if "Content Security Policy" in message.text:
            into.append(f"console: {message.text}")

    context.on("console", on_console)


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page, live_server, email: str, password: str, expect_path: str = "/campaigns/") -> None:
    """Log in and wait for the home page: the campaign list for marketers and managers,
    this week's feed (`expect_path="/feed/"`) for stakeholders."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}{expect_path}")


def log_out(page) -> None:
    page.locator("details.dropdown summary").click()
    page.get_by_role("button", name="Log out").click()
