"""A fake of Slack's Web API on loopback: it records every call (chat.postMessage,
chat.update, chat.postEphemeral, views.open, users.info) and every POST to a click's
response_url, and answers as Slack does; under /api/v4/ it answers as Mattermost's REST
API for posts (create, patch). Used by the chat tests and the browser journey."""

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Call:
    method: str
    body: dict[str, Any]


@dataclass
class FakeSlack:
    server: ThreadingHTTPServer
    calls: list[Call] = field(default_factory=list)
    # Slack user id → the address its profile shows (users.info).
    emails: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # Slack user id → real name
    # Web API method → (HTTP status, Slack's error): how Slack refuses a call.
    errors: dict[str, tuple[int, str]] = field(default_factory=dict)
    ts: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, name: str = "click") -> str:
        return f"{self.base}/response/{name}"

    def called(self, method: str) -> list[dict[str, Any]]:
        return [call.body for call in self.calls if call.method == method]

    def answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method == "chat.postMessage":
            return {
                "ok": True,
                "channel": body.get("channel"),
                "ts": f"1700000000.{next(self.ts):06d}",
            }
        if method.startswith("v4/posts"):  # Mattermost's REST API
            post_id = (
                method.split("/")[2] if method.count("/") >= 2 else f"post{next(self.ts):022d}"
            )
            return {"id": post_id, "channel_id": body.get("channel_id", "")}
        if method == "users.info":
            user = str(body.get("user", ""))
            email = self.emails.get(user)
            profile = {"email": email} if email else {}
            if user in self.names:
                profile["real_name"] = self.names[user]
            return {"ok": True, "user": {"id": user, "profile": profile}}
        return {"ok": True}


def start() -> FakeSlack:
    holder: dict[str, FakeSlack] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _body(self) -> dict[str, Any]:
            parts = urlsplit(self.path)
            data: dict[str, Any] = dict(parse_qsl(parts.query))
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            if raw:
                if "json" in (self.headers.get("Content-Type") or ""):
                    data.update(json.loads(raw))
                else:
                    data.update(dict(parse_qsl(raw)))
            return data

        def _handle(self) -> None:
            fake = holder["fake"]
            path = urlsplit(self.path).path
            body = self._body()
            method = path.removeprefix("/api/") if path.startswith("/api/") else path
            fake.calls.append(Call(method, body))
            status = 200
            answer = fake.answer(method, body) if path.startswith("/api/") else {"ok": True}
            if method in fake.errors:
                status, error = fake.errors[method]
                answer = {"ok": False, "error": error}
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = _handle  # noqa: N815 - http.server's names
        do_POST = _handle  # noqa: N815
        do_PUT = _handle  # noqa: N815

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake = FakeSlack(server)
    holder["fake"] = fake
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return fake
