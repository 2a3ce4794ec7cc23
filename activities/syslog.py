"""``send_syslog``: send one RFC 5424 syslog message over UDP or TCP.

The message is ``<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG``
(no structured data). Over TCP it is framed by octet counting (RFC 6587),
or ended by a newline for receivers that want that. UDP is fire-and-forget
by nature: a run succeeds once the datagram is handed to the network.
"""

from __future__ import annotations

import asyncio
import os
import socket
from datetime import UTC, datetime
from typing import Literal

from orch.sdk import ActivityError, Context, Inputs, Published, activity

FACILITIES = {
    "kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6,
    "news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "ntp": 12, "security": 13,
    "console": 14, "solaris-cron": 15, "local0": 16, "local1": 17, "local2": 18,
    "local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}  # fmt: skip
SEVERITIES = {
    "emerg": 0, "emergency": 0, "alert": 1, "crit": 2, "critical": 2, "err": 3, "error": 3,
    "warning": 4, "warn": 4, "notice": 5, "info": 6, "informational": 6, "debug": 7,
}  # fmt: skip
_FIELD_LIMITS = {"hostname": 255, "app_name": 48, "procid": 128, "msg_id": 32}
MAX_UDP_BYTES = 65507


class SendSyslogInputs(Inputs):
    host: str
    """Syslog receiver's name or address."""
    message: str
    """The message text (UTF-8)."""
    port: int = 514
    """Receiver port."""
    protocol: Literal["udp", "tcp"] = "udp"
    """Transport: ``udp`` (RFC 5426) or ``tcp`` (RFC 6587)."""
    facility: str = "user"
    """Facility name (``user``, ``daemon``, ``local0``…``local7``…) or number 0–23."""
    severity: str = "info"
    """Severity name (``emerg``, ``alert``, ``crit``, ``err``, ``warning``, ``notice``,
    ``info``, ``debug``) or number 0–7."""
    app_name: str = "orch"
    """APP-NAME field (up to 48 printable ASCII characters, no spaces)."""
    hostname: str = ""
    """HOSTNAME field; empty uses the runbook server's host name."""
    procid: str = ""
    """PROCID field; empty uses the runbook server's process id."""
    msg_id: str = ""
    """MSGID field (up to 32 characters); empty sends ``-``."""
    tcp_framing: Literal["octet_counting", "newline"] = "octet_counting"
    """TCP framing: a length prefix (RFC 6587 octet counting) or a trailing newline."""
    timeout_seconds: float = 10
    """Time allowed to connect and send (TCP)."""


class SyslogSent(Published):
    Message: str
    """The syslog message as sent (without TCP framing)."""


@activity(
    "send_syslog",
    display_name="Send Syslog Message",
    category="Notification",
    rerunnable=False,
)
async def send_syslog(ctx: Context, inputs: SendSyslogInputs) -> SyslogSent:
    """Send ``message`` to a syslog receiver with the given facility and severity."""
    if not 0 < inputs.port < 65536:
        raise ActivityError("property port: must be between 1 and 65535")
    if inputs.timeout_seconds <= 0:
        raise ActivityError("property timeout_seconds: must be greater than 0")
    line = format_message(inputs, datetime.now(UTC))
    data = line.encode("utf-8")
    try:
        if inputs.protocol == "udp":
            if len(data) > MAX_UDP_BYTES:
                raise ActivityError(
                    f"property message: {len(data)} bytes is too long for UDP "
                    f"(at most {MAX_UDP_BYTES}); use tcp"
                )
            await _send_udp(inputs.host, inputs.port, data)
        else:
            if inputs.tcp_framing == "octet_counting":
                framed = str(len(data)).encode() + b" " + data
            else:
                framed = data.replace(b"\n", b" ") + b"\n"
            async with asyncio.timeout(inputs.timeout_seconds):
                await _send_tcp(inputs.host, inputs.port, framed)
    except TimeoutError:
        raise ActivityError(
            f"syslog receiver {inputs.host}:{inputs.port} did not take the message "
            f"within {inputs.timeout_seconds:g} s"
        ) from None
    except OSError as exc:
        raise ActivityError(
            f"cannot send to syslog receiver {inputs.host}:{inputs.port}: {exc}"
        ) from None
    return SyslogSent(Message=line)


def format_message(inputs: SendSyslogInputs, now: datetime) -> str:
    """The RFC 5424 message for ``inputs`` at time ``now``."""
    pri = _code(inputs.facility, FACILITIES, 23, "facility") * 8 + _code(
        inputs.severity, SEVERITIES, 7, "severity"
    )
    stamp = now.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    fields = [
        _header("hostname", inputs.hostname or socket.gethostname()),
        _header("app_name", inputs.app_name),
        _header("procid", inputs.procid or str(os.getpid())),
        _header("msg_id", inputs.msg_id),
    ]
    return f"<{pri}>1 {stamp} {' '.join(fields)} - {inputs.message}"


def _code(value: str, names: dict[str, int], top: int, prop: str) -> int:
    text = value.strip().lower()
    if text.isdigit() and int(text) <= top:
        return int(text)
    if text in names:
        return names[text]
    raise ActivityError(
        f"property {prop}: {value!r} is not a {prop} name or a number from 0 to {top}"
    )


def _header(prop: str, value: str) -> str:
    if not value:
        return "-"
    limit = _FIELD_LIMITS[prop]
    if len(value) > limit or any(not 33 <= ord(c) <= 126 for c in value):
        raise ActivityError(
            f"property {prop}: at most {limit} printable ASCII characters without spaces"
        )
    return value


async def _send_udp(host: str, port: int, data: bytes) -> None:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, remote_addr=(host, port)
    )
    try:
        transport.sendto(data)
    finally:
        transport.close()


async def _send_tcp(host: str, port: int, data: bytes) -> None:
    _, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(data)
        await writer.drain()
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass
