"""The load benchmark's two wrk runs per page: the measure, which leaves the bodies to
wrk's parser alone, and the check right after it, which compares every answer's status
with the expected one (a lost session's 302 counts as an error, as a 200 where a 304 was
expected does)."""

import argparse
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from benchmarks import load
from tests.support.processes import binary

WRK = argparse.Namespace(threads=1, connections=2, duration=1)


class _Pages(BaseHTTPRequestHandler):
    """/page/ answers 200 with a body, /lost-session/ a 302 to the login page, /doc/ a
    document with ETag `version` (304 to If-None-Match: that ETag), /no-304/ a document
    that never answers 304."""

    version = '"v1"'

    def do_GET(self) -> None:
        if self.path == "/doc/" and self.headers.get("If-None-Match") == _Pages.version:
            self.send_response(304)
            self.send_header("ETag", _Pages.version)
            self.end_headers()
            return
        if self.path == "/lost-session/":
            self.send_response(302)
            self.send_header("Location", "/accounts/login/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"x" * 4096
        self.send_response(200)
        self.send_header("ETag", _Pages.version if self.path == "/doc/" else '"fixed"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    binary("wrk")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_address[1]}"
    _Pages.version = '"v1"'
    httpd.shutdown()
    thread.join(timeout=5)


def test_the_check_run_counts_every_answer_with_another_status(server):
    check = load._wrk(server, "/lost-session/", {}, expect=200, args=WRK, check=True)
    assert check.requests > 0
    assert check.unexpected_status == check.requests
    assert check.errors == check.requests

    fine = load._wrk(server, "/page/", {}, expect=200, args=WRK, check=True)
    assert fine.requests > 0
    assert fine.errors == 0


def test_the_measure_leaves_statuses_to_the_check_and_a_round_counts_both(server):
    """Without wrk's per-answer hook no body is copied into Lua: a redirect is not an
    error to wrk itself, so it is the check's count that makes the round fail."""
    assert "function response" not in load.WRK_MEASURE_SCRIPT
    measured = load._wrk(server, "/lost-session/", {}, expect=200, args=WRK)
    assert measured.requests > 0
    assert measured.errors == 0
    check = load._wrk(server, "/lost-session/", {}, expect=200, args=WRK, check=True)

    result = load.PageResult(page=load.PAGES[0], url_path="/lost-session/", headers={})
    result.rounds.append(load.Round(ceiling=measured, page=measured, check=check))
    assert result.errors == check.requests
    assert any("error" in failure for failure in load._check(result))


def _conditional_result(path: str) -> load.PageResult:
    page = load.Page("a feed, unchanged", path, None, 0.35, expect=304, conditional=True)
    return load.PageResult(page=page, url_path=path, headers={})


def _measure_round_with_a_change_after_the_first_measure(server, monkeypatch, path):
    """A round of `path` whose document gets a new ETag right after the first measure,
    as when a launch crosses the feeds' window. Returns the round and the calls to wrk."""
    calls: list[tuple[str, bool]] = []
    wrk = load._wrk

    def counted(base, path, headers, *, expect, args, check=False):
        measured = wrk(base, path, headers, expect=expect, args=args, check=check)
        calls.append((path, check))
        if len(calls) == 2:  # the ceiling, then the first measure
            _Pages.version = '"v2"'
        return measured

    monkeypatch.setattr(load, "_wrk", counted)
    args = argparse.Namespace(**vars(WRK), workers=1)
    result = _conditional_result(path)
    one = load._measure_round(server, result, load.Logins(cookies={}, tokens={}), args)
    return one, calls


def test_a_document_that_changed_during_the_measure_is_measured_again(server, monkeypatch):
    """The 200s of a document that changed are right answers: the round is measured again
    with the new ETag, once, and its check is clean."""
    one, calls = _measure_round_with_a_change_after_the_first_measure(server, monkeypatch, "/doc/")
    assert [check for _path, check in calls] == [False, False, True, False, False, True]
    assert one.page.requests > 0
    assert one.check.requests > 0
    assert one.check.errors == 0


def test_a_document_that_did_not_change_keeps_its_errors(server, monkeypatch):
    """A server that answers 200 to an unchanged document's ETag is wrong: no second
    measure hides it."""
    one, calls = _measure_round_with_a_change_after_the_first_measure(
        server, monkeypatch, "/no-304/"
    )
    assert len(calls) == 3
    assert one.check.errors == one.check.requests > 0
