"""The channels a notice goes out on beyond the inbox: e-mail (SMTP) and the group's WeCom robot."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage

import requests

from .models import GroupChannels

SEND_TIMEOUT = 15  # seconds for one SMTP or HTTP exchange
WECOM_TEXT_LIMIT = 2048  # a robot's text message: at most 2048 bytes of UTF-8


class SendFailed(Exception):
    pass


def send_email(ch: GroupChannels, to: str, subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"] = ch.smtp_sender or f"crm@{ch.smtp_host}"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    try:
        with smtplib.SMTP(ch.smtp_host or "", ch.smtp_port, timeout=SEND_TIMEOUT) as smtp:
            if ch.smtp_starttls:
                smtp.starttls()
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise SendFailed(f"smtp: {exc}") from exc


def send_wecom(webhook: str, content: str) -> None:
    """A WeCom group robot message (text): POST {"msgtype": "text", "text": {"content": ...}}; the robot
    answers {"errcode": 0, "errmsg": "ok"} when it took it."""
    content = content.encode()[:WECOM_TEXT_LIMIT].decode(errors="ignore")
    try:
        r = requests.post(webhook, json={"msgtype": "text", "text": {"content": content}}, timeout=SEND_TIMEOUT)
        answer = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
    except (requests.RequestException, ValueError) as exc:
        raise SendFailed(f"wecom: {exc}") from exc
    if r.status_code != 200 or answer.get("errcode") != 0:
        raise SendFailed(f"wecom: HTTP {r.status_code} {r.text[:200]}")
