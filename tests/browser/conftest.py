from tests.support.browser import browser_page, csp_violations  # noqa: F401 - fixtures
