"""send_email against an aiosmtpd server on 127.0.0.1 (plain, STARTTLS, TLS, login)."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from activities._paths import ROOT_ENV
from activities.mail import send_email
from orch.sdk.testing import run_activity


class Handler:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        if address.endswith("@refused.test"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def message(self, n: int = -1) -> Message:
        content = self.envelopes[n].content
        assert isinstance(content, bytes)
        return email.message_from_bytes(content)


def _authenticator(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                   auth_data: Any) -> AuthResult:  # fmt: skip
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == b"ann"
        and auth_data.password == b"pw"
    )
    return AuthResult(success=ok, handled=False)


def _certificate(folder: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


class Smtp:
    def __init__(self, handler: Handler, port: int) -> None:
        self.handler = handler
        self.port = port


StartServer = Callable[..., "asyncio.Future[Smtp]"]


@pytest_asyncio.fixture(loop_scope="function")
async def start_smtp(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    servers: list[asyncio.Server] = []
    tls = _certificate(tmp_path)

    async def start(*, starttls: bool = False, implicit_tls: bool = False) -> Smtp:
        handler = Handler()

        def factory() -> SMTP:
            return SMTP(
                handler,
                hostname="smtp.test",
                authenticator=_authenticator,
                auth_require_tls=False,
                tls_context=tls if starttls else None,
                require_starttls=starttls,
            )

        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            factory, "127.0.0.1", 0, ssl=tls if implicit_tls else None
        )
        servers.append(server)
        return Smtp(handler, server.sockets[0].getsockname()[1])

    try:
        yield start
    finally:
        for server in servers:
            server.close()
            await server.wait_closed()


def _props(smtp: Smtp, **extra: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": smtp.port,
        "from": "Orch <orch@example.test>",
        "to": ["ann@example.test"],
        "subject": "Disk full",
        "body": "The disk is full.",
        **extra,
    }


async def test_plain_message_with_cc_and_bcc(start_smtp: Callable[..., Any]) -> None:
    smtp = await start_smtp()
    r = await run_activity(
        send_email,
        _props(smtp, to="ann@example.test; Bob Smith <bob@example.test>",
               cc=["carl@example.test"], bcc="dee@example.test", reply_to="help@example.test"),
    )  # fmt: skip
    assert r.status == "success", r.error
    (item,) = r.items
    assert item["Recipients"] == (
        "ann@example.test, bob@example.test, carl@example.test, dee@example.test"
    )
    env = smtp.handler.envelopes[0]
    assert env.mail_from == "orch@example.test"
    assert env.rcpt_tos == [
        "ann@example.test", "bob@example.test", "carl@example.test", "dee@example.test"
    ]  # fmt: skip
    msg = smtp.handler.message()
    assert msg["Subject"] == "Disk full"
    assert msg["From"] == "Orch <orch@example.test>"
    assert msg["To"] == "ann@example.test, Bob Smith <bob@example.test>"
    assert msg["Cc"] == "carl@example.test"
    assert msg["Reply-To"] == "help@example.test"
    assert msg["Bcc"] is None
    assert msg["Message-ID"] == item["MessageId"]
    assert item["MessageId"].endswith("@example.test>")
    assert msg.get_content_type() == "text/plain"
    assert msg.get_payload(decode=True).decode().strip() == "The disk is full."


async def test_html_and_attachment(start_smtp: Callable[..., Any], tmp_path: Path) -> None:
    smtp = await start_smtp()
    report = tmp_path / "report.csv"
    report.write_text("a,b\n1,2\n")
    r = await run_activity(
        send_email,
        _props(smtp, body="<p>Hello</p>", html=True, attachments=[str(report)]),
    )
    assert r.status == "success", r.error
    msg = smtp.handler.message()
    assert msg.get_content_type() == "multipart/mixed"
    body, attached = msg.get_payload()
    assert body.get_content_type() == "text/html"
    assert attached.get_filename() == "report.csv"
    assert attached.get_content_type() == "text/csv"
    assert attached.get_payload(decode=True) == b"a,b\n1,2\n"


async def test_login(start_smtp: Callable[..., Any]) -> None:
    smtp = await start_smtp()
    r = await run_activity(send_email, _props(smtp, username="ann", password="pw"))
    assert r.status == "success", r.error
    r = await run_activity(send_email, _props(smtp, username="ann", password="wrong"))
    assert r.status == "failed"
    assert (r.error or "").startswith("SMTP login refused for ann:")
    assert len(smtp.handler.envelopes) == 1


async def test_refused_recipients(start_smtp: Callable[..., Any]) -> None:
    smtp = await start_smtp()
    r = await run_activity(send_email, _props(smtp, to=["ann@example.test", "ghost@refused.test"]))
    assert (r.status, r.error) == ("warning", "recipients refused: ghost@refused.test")
    assert r.items[0]["Recipients"] == "ann@example.test"
    r = await run_activity(send_email, _props(smtp, to=["ghost@refused.test"]))
    assert (r.status, r.error) == (
        "failed",
        "the SMTP server refused every recipient: ghost@refused.test",
    )


async def test_starttls(start_smtp: Callable[..., Any]) -> None:
    smtp = await start_smtp(starttls=True)
    r = await run_activity(
        send_email,
        _props(smtp, security="starttls", verify_tls=False, username="ann", password="pw"),
    )
    assert r.status == "success", r.error
    r = await run_activity(send_email, _props(smtp, security="starttls"))
    assert r.status == "failed"
    assert "certificate" in (r.error or "").lower()
    r = await run_activity(send_email, _props(smtp))  # the server requires STARTTLS
    assert r.status == "failed"
    assert len(smtp.handler.envelopes) == 1


async def test_implicit_tls(start_smtp: Callable[..., Any]) -> None:
    smtp = await start_smtp(implicit_tls=True)
    r = await run_activity(send_email, _props(smtp, security="tls", verify_tls=False))
    assert r.status == "success", r.error
    assert len(smtp.handler.envelopes) == 1


async def test_unreachable_server() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = await run_activity(
        send_email,
        {"host": "127.0.0.1", "port": port, "from": "a@b.test", "to": "c@d.test"},
    )
    assert r.status == "failed"
    assert (r.error or "").startswith("cannot connect to SMTP server 127.0.0.1:")


async def test_attachment_outside_the_allowed_root(
    start_smtp: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp = await start_smtp()
    (tmp_path / "root").mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("x")
    monkeypatch.setenv(ROOT_ENV, str(tmp_path / "root"))
    r = await run_activity(send_email, _props(smtp, attachments=[str(secret)]))
    assert (r.status, r.error) == (
        "failed",
        f"property attachments[0]: {secret} is outside the allowed root {tmp_path / 'root'}",
    )
    assert smtp.handler.envelopes == []


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"to": "not-an-address"}, "property to: 'not-an-address' is not an email address"),
        ({"to": []}, "property to: at least one recipient is required"),
        ({"from": "a@b.test, c@d.test"}, "property from: exactly one sender address is required"),
        ({"cc": ["x@y.test\nBcc: evil@z.test"]},
         "property cc: an address must not contain a line break"),
        ({"subject": "a\nBcc: evil@z.test"}, None),
        ({"password": "pw"}, "property username: required with a password"),
        ({"security": "ssl"}, None),
        ({"attachments": ["/nonexistent/orch-file"]},
         "property attachments[0]: No such file or directory: /nonexistent/orch-file"),
    ],
)  # fmt: skip
async def test_bad_inputs(extra: dict[str, Any], error: str | None) -> None:
    props = {"host": "127.0.0.1", "port": 1, "from": "a@b.test", "to": "c@d.test", **extra}
    r = await run_activity(send_email, props)
    assert r.status == "failed"
    if error is None:
        prop = next(iter(extra))
        assert (r.error or "").startswith(f"property {prop}"), r.error
    else:
        assert r.error == error
