"""Real local receivers for the inbox's notices: an SMTP server (aiosmtpd) and a WeCom group-robot
webhook (an HTTP server that checks the documented message format), each on a port the OS picks."""
from __future__ import annotations

import json
import socket
import threading
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpInbox:
    """aiosmtpd on 127.0.0.1: `messages` are the e-mails it accepted (email.message.EmailMessage)."""

    def __init__(self, port: int | None = None):
        from aiosmtpd.controller import Controller

        self.messages: list = []
        inbox = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                msg = message_from_bytes(envelope.content, policy=policy.default)
                inbox.messages.append((list(envelope.rcpt_tos), msg))
                return "250 OK"

        self.port = port or free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpInbox:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


class WeComRobot:
    """A WeCom group robot's webhook on 127.0.0.1. Answers like the robot: {"errcode": 0, "errmsg": "ok"}
    for a documented message, an error code for anything else (the documented text message is
    {"msgtype": "text", "text": {"content": "..."}}; markdown is {"msgtype": "markdown", "markdown":
    {"content": "..."}}). `fail_next` answers the next requests with HTTP 500 (a robot unavailable)."""

    def __init__(self):
        self.received: list[dict] = []
        self.rejected: list[str] = []
        self.fail_next = 0
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if robot.fail_next > 0:
                    robot.fail_next -= 1
                    return self._answer(500, {"errcode": -1, "errmsg": "system busy"})
                problem = robot.check(self.path, self.headers.get("Content-Type", ""), body)
                if problem:
                    robot.rejected.append(problem)
                    return self._answer(200, {"errcode": 40008, "errmsg": problem})
                robot.received.append(json.loads(body))
                self._answer(200, {"errcode": 0, "errmsg": "ok"})

            def _answer(self, status: int, data: dict):
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/cgi-bin/webhook/send?key=test-robot-key"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @staticmethod
    def check(path: str, content_type: str, body: bytes) -> str | None:
        if not path.startswith("/cgi-bin/webhook/send?key="):
            return "invalid webhook url"
        if not content_type.startswith("application/json"):
            return "content type must be application/json"
        try:
            data = json.loads(body)
        except ValueError:
            return "invalid json"
        kind = data.get("msgtype")
        if kind not in ("text", "markdown") or not isinstance(data.get(kind), dict):
            return "invalid msgtype"
        content = data[kind].get("content")
        limit = 2048 if kind == "text" else 4096  # the documented limits, in UTF-8 bytes
        if not isinstance(content, str) or not content.strip() or len(content.encode()) > limit:
            return f"content must be 1 to {limit} bytes"
        return None

    def start(self) -> WeComRobot:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
