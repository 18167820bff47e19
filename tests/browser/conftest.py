from tests.support.browser import browser_page  # noqa: F401 - the fixture
