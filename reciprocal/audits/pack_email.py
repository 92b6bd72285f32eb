"""Sending members' packs by email (`reciprocal pack --send`): optional, off unless asked.

Each pack goes as one message to its member's `contact` (a role mailbox in the member's YAML), the
Markdown as the plain-text body (ending with how to answer) and the HTML page as its alternative,
with the member's answers workbook (`<member>-<day>.xlsx`) attached. A member with no contact is
named as not sent. The mail server comes from the environment, never from a file in the scheme:

- `RECIPROCAL_SMTP_HOST` (required), `RECIPROCAL_SMTP_PORT` (default 25),
- `RECIPROCAL_SMTP_FROM` (required): the coordinator's mailbox the packs come from,
- `RECIPROCAL_SMTP_USER` and `RECIPROCAL_SMTP_PASSWORD` (optional, both or neither),
- `RECIPROCAL_SMTP_STARTTLS` (`1`, `yes` or `true`: upgrade the connection before logging in).

The password is never printed: errors name the host and port and what went wrong, no more.
"""
from __future__ import annotations

import os
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Mapping

from reciprocal.audits.packs import pack_html, pack_markdown
from reciprocal.config import EMAIL_PATTERN, Scheme
from reciprocal.errors import DeliveryError, InputFileError, Problem

ENV = "RECIPROCAL_SMTP_"
NO_CONTACT = "not sent: no contact address"
TIMEOUT_SECONDS = 30
# A mail server's name or address: a DNS name, IPv4, or IPv6 (bracketed or not).
HOST_PATTERN = re.compile(r"\[?[A-Za-z0-9.:_-]{1,253}\]?")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> SmtpSettings:
        """The settings, or one error naming every variable that is missing or wrong."""
        problems = []
        host, sender = env.get(ENV + "HOST", "").strip(), env.get(ENV + "FROM", "").strip()
        if not host:
            problems.append(Problem(ENV + "HOST", "required to send packs (the mail server's name)"))
        elif not HOST_PATTERN.fullmatch(host):
            # never echoed: a line break in it would print a line of its own
            problems.append(Problem(ENV + "HOST", "is not a host name (letters, digits, . - and : only; "
                                                  "no spaces or line breaks)"))
        if not re.fullmatch(EMAIL_PATTERN, sender):
            problems.append(Problem(ENV + "FROM", "required to send packs: the mailbox they come from"))
        port_text = env.get(ENV + "PORT", "25").strip() or "25"
        port = int(port_text) if port_text.isdigit() and 0 < int(port_text) < 65536 else None
        if port is None:
            problems.append(Problem(ENV + "PORT", f"'{port_text[:24]}' is not a port number (1-65535)"))
        user, password = env.get(ENV + "USER") or None, env.get(ENV + "PASSWORD") or None
        if (user is None) != (password is None):
            problems.append(Problem(ENV + "USER", f"give both {ENV}USER and {ENV}PASSWORD, or neither"))
        if problems:
            raise InputFileError(problems, "cannot send packs; nothing was sent")
        starttls = env.get(ENV + "STARTTLS", "").strip().lower() in ("1", "yes", "true")
        return cls(host, port, sender, user, password, starttls)


def how_to_answer(pack: dict) -> str:
    """The body's last section: the member answers in the attached workbook, not by email."""
    from reciprocal.audits.workbook import HOUSEHOLDS, PROPOSALS, WAITING, workbook_file_name
    return (f"\n\n## How to answer\n\n"
            f"Answer in the attached workbook, {workbook_file_name(pack)}: on \"{PROPOSALS}\" choose each "
            f"proposal's action from its drop-down list (with the date, reason, viewing date or tenancy start it "
            f"needs); on \"{HOUSEHOLDS}\" fill in a home's columns on the row of the household you offer it for; "
            f"on \"{WAITING}\" reconfirm, resume or close your households. Leave a row blank to give no answer, "
            f"keep the other cells and the front sheet as they are, save it as a workbook (xlsx) and send it back "
            f"to the coordinator, who imports every member's answers at once.\n")


def pack_message(pack: dict, sender: str, to: str, scheme: Scheme | None = None) -> EmailMessage:
    """The pack's message; with the scheme, the answers workbook is attached and the body says how
    to answer in it."""
    message = EmailMessage()
    message["Subject"] = f"{pack['scheme_name']}: your pack for {pack['on']}"
    message["From"], message["To"] = sender, to
    message.set_content(pack_markdown(pack) + (how_to_answer(pack) if scheme is not None else ""))
    message.add_alternative(pack_html(pack), subtype="html")
    if scheme is not None:
        from reciprocal.audits.workbook import workbook_bytes, workbook_file_name
        message.add_attachment(workbook_bytes(pack, scheme), maintype="application",
                               subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                               filename=workbook_file_name(pack))
    return message


def send_packs(packs: list[dict], scheme: Scheme, settings: SmtpSettings) -> list[dict]:
    """Send each pack to its member's contact over one connection; returns, per member, to whom
    it went or why not (`NO_CONTACT`). A failure to connect, log in or send raises
    `DeliveryError`, naming the members already sent to."""
    results = [{"member": p["member"], "to": scheme.providers[p["member"]].contact} for p in packs]
    if not any(r["to"] for r in results):
        return [{**r, "status": NO_CONTACT} for r in results]
    sent: list[str] = []
    where = f"{settings.host}:{settings.port}"
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=TIMEOUT_SECONDS) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.user:
                smtp.login(settings.user, settings.password)
            for pack, result in zip(packs, results):
                if result["to"]:
                    smtp.send_message(pack_message(pack, settings.sender, result["to"], scheme))
                    sent.append(pack["member"])
    except (OSError, smtplib.SMTPException) as exc:
        done = f"; sent before it failed: {', '.join(sent)}" if sent else "; nothing was sent"
        raise DeliveryError(f"cannot send packs through {where}: {_why(exc)}{done}") from None
    return [{**r, "status": "sent" if r["to"] else NO_CONTACT} for r in results]


def _why(exc: Exception) -> str:
    """What went wrong, without the server's words (they may echo what was sent) or credentials."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "the server refused the user name or password"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "the server refused a recipient"
    if isinstance(exc, smtplib.SMTPException):
        return f"the server answered with an error ({type(exc).__name__})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return f"cannot connect ({type(exc).__name__})"
