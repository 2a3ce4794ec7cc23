"""``send_email``: send one message through an SMTP server (aiosmtplib).

Plain SMTP, STARTTLS or implicit TLS; optional login with a secret password;
attachments read from files (checked against the allowed root, like every
file activity). Bcc recipients get the message without appearing in it.
"""

from __future__ import annotations

import asyncio
import mimetypes
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid
from pathlib import Path
from typing import Literal

import aiosmtplib
import msgspec

from activities import _paths
from orch.sdk import ActivityError, Context, Inputs, Published, Secret, activity

Security = Literal["none", "starttls", "tls"]
_DEFAULT_PORT = {"none": 25, "starttls": 587, "tls": 465}
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024


class SendEmailInputs(Inputs):
    host: str
    """SMTP server name or address."""
    sender: str = msgspec.field(name="from")
    """Sender address (``ops@example.com`` or ``Ops <ops@example.com>``)."""
    to: list[str] | str
    """Recipients: a list, or one text with addresses separated by commas or semicolons."""
    subject: str = ""
    """Subject line."""
    body: str = ""
    """Message text (HTML when ``html`` is on)."""
    html: bool = False
    """Send ``body`` as HTML."""
    cc: list[str] | str = []
    """Copy recipients (shown in the message)."""
    bcc: list[str] | str = []
    """Blind-copy recipients (not shown in the message)."""
    reply_to: str = ""
    """Address replies should go to."""
    port: int = 0
    """SMTP port; 0 picks the usual one for ``security`` (25, 587 or 465)."""
    security: Security = "none"
    """``none``, ``starttls`` (upgrade after connecting; fails if the server cannot) or
    ``tls`` (TLS from the first byte)."""
    verify_tls: bool = True
    """Check the server's TLS certificate (turn off only for test servers)."""
    username: str = ""
    """User name to log in with (nothing: no login)."""
    password: Secret = ""
    """Password to log in with (secret)."""
    attachments: list[str] = []
    """Absolute paths of files to attach."""
    timeout_seconds: float = 60
    """Time allowed for each step of the conversation with the server."""


class EmailSent(Published):
    MessageId: str
    """The Message-ID header of the message sent."""
    Recipients: str
    """The addresses the server accepted, comma-separated."""


@activity(
    "send_email",
    display_name="Send Email",
    category="Notification",
    rerunnable=False,
)
async def send_email(ctx: Context, inputs: SendEmailInputs) -> EmailSent:
    """Send an email; publish its Message-ID and the accepted recipients.

    Recipients the server refuses while it accepts others end the run in
    warning, naming them; when none is accepted the run fails.
    """
    if inputs.timeout_seconds <= 0:
        raise ActivityError("property timeout_seconds: must be greater than 0")
    if inputs.port and not 0 < inputs.port < 65536:
        raise ActivityError("property port: must be between 1 and 65535")
    if inputs.password and not inputs.username:
        raise ActivityError("property username: required with a password")
    sender = _addresses(inputs.sender, "from")
    if len(sender) != 1:
        raise ActivityError("property from: exactly one sender address is required")
    to = _addresses(inputs.to, "to")
    cc = _addresses(inputs.cc, "cc")
    bcc = _addresses(inputs.bcc, "bcc")
    if not to + cc + bcc:
        raise ActivityError("property to: at least one recipient is required")
    message = await asyncio.to_thread(_message, inputs, sender[0], to, cc)
    recipients = [a.addr_spec for a in to + cc + bcc]
    tls_context = ssl.create_default_context()
    if not inputs.verify_tls:
        tls_context.check_hostname = False
        tls_context.verify_mode = ssl.CERT_NONE
    try:
        refused, _ = await aiosmtplib.send(
            message,
            sender=sender[0].addr_spec,
            recipients=recipients,
            hostname=inputs.host,
            port=inputs.port or _DEFAULT_PORT[inputs.security],
            username=inputs.username or None,
            password=inputs.password or None,
            use_tls=inputs.security == "tls",
            start_tls=inputs.security == "starttls",
            tls_context=tls_context if inputs.security != "none" else None,
            timeout=inputs.timeout_seconds,
        )
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise ActivityError(f"SMTP login refused for {inputs.username}: {exc.message}") from None
    except aiosmtplib.SMTPRecipientsRefused as exc:
        names = ", ".join(r.recipient for r in exc.recipients)
        raise ActivityError(f"the SMTP server refused every recipient: {names}") from None
    except aiosmtplib.SMTPSenderRefused as exc:
        raise ActivityError(f"the SMTP server refused the sender: {exc.message}") from None
    except aiosmtplib.SMTPTimeoutError:
        raise ActivityError(
            f"the SMTP server {inputs.host} did not answer within {inputs.timeout_seconds:g} s"
        ) from None
    except aiosmtplib.SMTPConnectError as exc:
        raise ActivityError(f"cannot connect to SMTP server {inputs.host}: {exc.message}") from None
    except aiosmtplib.SMTPException as exc:
        raise ActivityError(f"sending the email failed: {exc}") from None
    except ssl.SSLError as exc:
        raise ActivityError(f"TLS with {inputs.host} failed: {exc.reason or exc}") from None
    except OSError as exc:
        raise ActivityError(f"cannot connect to SMTP server {inputs.host}: {exc}") from None
    accepted = [r for r in recipients if r not in refused]
    if refused:
        ctx.warn("recipients refused: " + ", ".join(sorted(refused)))
    ctx.log.info("email sent", message_id=message["Message-ID"], recipients=len(accepted))
    return EmailSent(MessageId=message["Message-ID"], Recipients=", ".join(accepted))


def _addresses(value: list[str] | str, prop: str) -> list[Address]:
    texts = [value] if isinstance(value, str) else value
    out: list[Address] = []
    for text in texts:
        if "\r" in text or "\n" in text:
            raise ActivityError(f"property {prop}: an address must not contain a line break")
        for name, addr in getaddresses([text.replace(";", ",")]):
            if not addr and not name:
                continue
            local, at, domain = addr.rpartition("@")
            if not at or not local or not domain:
                raise ActivityError(f"property {prop}: {addr or name!r} is not an email address")
            try:
                out.append(Address(display_name=name, addr_spec=addr))
            except (ValueError, IndexError) as exc:
                raise ActivityError(f"property {prop}: {addr!r}: {exc}") from None
    return out


def _message(
    inputs: SendEmailInputs, sender: Address, to: list[Address], cc: list[Address]
) -> EmailMessage:
    msg = EmailMessage()
    try:
        msg["From"] = sender
        if to:
            msg["To"] = to
        if cc:
            msg["Cc"] = cc
        if inputs.reply_to:
            msg["Reply-To"] = _addresses(inputs.reply_to, "reply_to")
        msg["Subject"] = inputs.subject
    except ValueError as exc:
        raise ActivityError(f"property subject: {exc}") from None
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain=sender.domain or None)
    msg.set_content(inputs.body, subtype="html" if inputs.html else "plain")
    for n, value in enumerate(inputs.attachments):
        path = _paths.resolve(value, f"attachments[{n}]")
        try:
            if path.stat().st_size > MAX_ATTACHMENT_BYTES:
                raise ActivityError(f"property attachments[{n}]: {path} is larger than 25 MiB")
            data = path.read_bytes()
        except IsADirectoryError:
            raise ActivityError(f"property attachments[{n}]: {path} is a folder") from None
        except OSError as exc:
            raise ActivityError(f"property attachments[{n}]: {exc.strerror}: {path}") from None
        kind, _ = mimetypes.guess_type(Path(path).name)
        main, sub = (kind or "application/octet-stream").split("/", 1)
        msg.add_attachment(data, maintype=main, subtype=sub, filename=path.name)
    return msg
