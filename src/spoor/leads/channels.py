"""Sending one alert to one channel: e-mail (SMTP), a generic signed webhook, or a Slack-
or Teams-compatible incoming webhook.

Generic webhooks carry `X-Spoor-Timestamp` and `X-Spoor-Signature: sha256=HEX`, the
HMAC-SHA256 of "TIMESTAMP." followed by the body, keyed with the channel's secret
(`verify` checks one, refusing stale timestamps against replays).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx

from spoor.leads.egress import EgressRefused, Guard, HostUnknown
from spoor.settings import Settings

KINDS = ("email", "owner", "webhook", "slack", "teams")  # owner: e-mail to the account's owner
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


class SendError(Exception):
    """The channel did not take the alert; the message says what happened."""


@dataclass(frozen=True)
class Channel:
    id: int
    name: str
    kind: str
    target: str
    secret: str | None
    enabled: bool
    failures: int
    disabled_reason: str | None


def check_target(kind: str, target: str, settings: Settings | None = None) -> str:
    """The target, cleaned; ValueError when it is not one, or a webhook whose host is on a
    network webhooks may not reach (`settings` say which are allowed; none by default)."""
    target = target.strip()
    if kind not in KINDS:
        raise ValueError(f"{kind!r} is not a channel kind: use {', '.join(KINDS)}")
    if kind in ("email", "owner"):  # owner: the address when nobody holds the account
        if not _EMAIL.match(target):
            raise ValueError(f"{target!r} is not an e-mail address")
    elif not re.match(r"^https?://[^/\s]+", target):
        raise ValueError(f"{target!r} is not an http:// or https:// address")
    else:
        Guard.from_settings(settings or Settings()).check(target)
    return target


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str, timestamp: str, body: bytes, signature: str, tolerance: float = 300,
    now: float | None = None,
) -> bool:  # fmt: skip
    """What a receiver does: the signature matches and the timestamp is recent."""
    try:
        age = abs((now or time.time()) - float(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature)


def summary(alert: dict[str, Any]) -> str:
    org = alert["org"]
    head = {"hand_raise": "raised a hand", "priority_above": "crossed the priority threshold",
            "claimed_returned": "came back", "target_visited": "(a target account) visited",
            "entered_feed": f"entered the feed {alert.get('feed', alert['rule'])}"}  # fmt: skip
    what = head.get(alert["trigger"], alert["trigger"])
    return f"{org['name']} {what} (priority {alert['priority']:.0f})"


def text(alert: dict[str, Any]) -> str:
    lines = [summary(alert) + ".", ""]
    lines += [f"- {reason['text']}" for reason in alert["reasons"][:5]]
    lines += ["", f"Open it: {alert['url']}"]
    return "\n".join(lines)


def payload(kind: str, alert: dict[str, Any]) -> dict[str, Any]:
    if kind == "slack":
        return {"text": f"{summary(alert)}\n{text(alert)}"}
    if kind == "teams":  # the Office 365 connector card incoming webhooks accept
        return {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": summary(alert),
            "title": summary(alert),
            "text": text(alert).replace("\n", "\n\n"),
        }
    return alert


def send(channel: Channel, alert: dict[str, Any], settings: Settings, timeout: float = 10) -> str:
    """Deliver; returns what the receiver said. SendError when it did not take it."""
    if channel.kind == "email":
        return _mail(channel.target, alert, settings, timeout)
    if channel.kind == "owner":
        return _mail(
            alert.get("owner", {}).get("email") or channel.target, alert, settings, timeout
        )
    body = json.dumps(payload(channel.kind, alert), separators=(",", ":")).encode()
    headers = {"content-type": "application/json", "user-agent": "spoor-alerts"}
    if channel.kind == "webhook" and channel.secret:
        stamp = str(int(time.time()))
        headers |= {
            "x-spoor-timestamp": stamp,
            "x-spoor-signature": sign(channel.secret, stamp, body),
        }
    try:
        answer = Guard.from_settings(settings).post(
            channel.target, content=body, headers=headers, timeout=timeout
        )
    except (EgressRefused, HostUnknown) as exc:
        raise SendError(str(exc)) from exc
    except httpx.HTTPError as exc:
        raise SendError(f"{type(exc).__name__}: {exc}") from exc
    if not answer.is_success:
        raise SendError(f"HTTP {answer.status_code}: {answer.text[:200]}")
    return f"HTTP {answer.status_code}"


def _mail(to: str, alert: dict[str, Any], settings: Settings, timeout: float) -> str:
    return send_mail(settings, to, f"[Spoor] {summary(alert)}", text(alert), timeout)


def send_mail(settings: Settings, to: str, subject: str, body: str, timeout: float = 10) -> str:
    """One plain-text e-mail through the configured server; SendError when refused."""
    if not settings.smtp_host:
        raise SendError("no mail server: set SPOOR_SMTP_HOST")
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.mail_from
    message["To"] = to
    message.set_content(body)
    try:
        if settings.smtp_security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.smtp_host, settings.smtp_port, timeout=timeout,
                context=ssl.create_default_context(),
            )  # fmt: skip
        else:
            client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
        with client:
            if settings.smtp_security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                client.login(settings.smtp_user, settings.smtp_password)
            refused = client.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise SendError(f"{type(exc).__name__}: {exc}") from exc
    if refused:
        raise SendError(f"refused: {refused}")
    return f"mailed to {to}"
