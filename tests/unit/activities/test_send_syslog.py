"""send_syslog to loopback UDP and TCP receivers; RFC 5424 formatting."""

from __future__ import annotations

import asyncio
import os
import re
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio

from activities.syslog import SendSyslogInputs, format_message, send_syslog
from orch.sdk.testing import run_activity

LINE = re.compile(
    r"^<(?P<pri>\d+)>1 (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<proc>\S+) (?P<msgid>\S+) - "
    r"(?P<msg>.*)$",
    re.S,
)


class UdpReceiver(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.datagrams: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.datagrams.put_nowait(data)


@pytest_asyncio.fixture(loop_scope="function")
async def udp() -> AsyncIterator[tuple[UdpReceiver, int]]:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(UdpReceiver, local_addr=("127.0.0.1", 0))
    try:
        yield proto, transport.get_extra_info("sockname")[1]
    finally:
        transport.close()


@pytest_asyncio.fixture(loop_scope="function")
async def tcp() -> AsyncIterator[tuple[asyncio.Queue[bytes], int]]:
    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.put_nowait(await reader.read())
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield received, server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def test_udp_message_is_rfc5424(udp: tuple[UdpReceiver, int]) -> None:
    receiver, port = udp
    r = await run_activity(
        send_syslog,
        {
            "host": "127.0.0.1",
            "port": port,
            "message": "disk full on /var — café",
            "facility": "local3",
            "severity": "warning",
            "app_name": "orch-test",
            "hostname": "runbook-1",
            "msg_id": "DISK",
        },
    )
    assert r.status == "success", r.error
    data = await asyncio.wait_for(receiver.datagrams.get(), 10)
    text = data.decode("utf-8")
    assert r.items == [{"Message": text}]
    m = LINE.match(text)
    assert m is not None, text
    assert m["pri"] == str(19 * 8 + 4)
    assert m["host"] == "runbook-1"
    assert m["app"] == "orch-test"
    assert m["proc"] == str(os.getpid())
    assert m["msgid"] == "DISK"
    assert m["msg"] == "disk full on /var — café"
    stamp = datetime.strptime(m["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 60


async def test_numeric_facility_severity_and_defaults(udp: tuple[UdpReceiver, int]) -> None:
    receiver, port = udp
    r = await run_activity(
        send_syslog,
        {"host": "127.0.0.1", "port": port, "message": "m", "facility": "0", "severity": "7"},
    )
    assert r.status == "success", r.error
    m = LINE.match((await asyncio.wait_for(receiver.datagrams.get(), 10)).decode())
    assert m is not None
    assert (m["pri"], m["app"], m["msgid"], m["host"]) == ("7", "orch", "-", socket.gethostname())


async def test_tcp_octet_counting(tcp: tuple[asyncio.Queue[bytes], int]) -> None:
    received, port = tcp
    r = await run_activity(
        send_syslog,
        {"host": "127.0.0.1", "port": port, "protocol": "tcp", "message": "line one\nline two"},
    )
    assert r.status == "success", r.error
    data = await asyncio.wait_for(received.get(), 10)
    length, _, frame = data.partition(b" ")
    assert int(length) == len(frame)
    assert frame.decode() == r.items[0]["Message"]
    assert frame.endswith(b"- line one\nline two")


async def test_tcp_newline_framing(tcp: tuple[asyncio.Queue[bytes], int]) -> None:
    received, port = tcp
    r = await run_activity(
        send_syslog,
        {"host": "127.0.0.1", "port": port, "protocol": "tcp", "tcp_framing": "newline",
         "message": "a\nb", "severity": "err"},
    )  # fmt: skip
    assert r.status == "success", r.error
    data = await asyncio.wait_for(received.get(), 10)
    assert data.startswith(b"<11>1 ")
    assert data.endswith(b"- a b\n")
    assert data.count(b"\n") == 1


async def test_tcp_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = await run_activity(
        send_syslog, {"host": "127.0.0.1", "port": port, "protocol": "tcp", "message": "m"}
    )
    assert r.status == "failed"
    assert (r.error or "").startswith(f"cannot send to syslog receiver 127.0.0.1:{port}:")


def test_format_message_fixed_time() -> None:
    inputs = SendSyslogInputs(
        host="h", message="hello", hostname="web", procid="42", facility="auth", severity="crit"
    )
    line = format_message(inputs, datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC))
    assert line == "<34>1 2024-05-01T10:00:00.123456Z web orch 42 - - hello"


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"facility": "bogus"},
         "property facility: 'bogus' is not a facility name or a number from 0 to 23"),
        ({"facility": "24"},
         "property facility: '24' is not a facility name or a number from 0 to 23"),
        ({"severity": "8"},
         "property severity: '8' is not a severity name or a number from 0 to 7"),
        ({"app_name": "has space"},
         "property app_name: at most 48 printable ASCII characters without spaces"),
        ({"msg_id": "x" * 33},
         "property msg_id: at most 32 printable ASCII characters without spaces"),
        ({"port": 0}, "property port: must be between 1 and 65535"),
        ({"message": "x" * 70000},
         "property message: 70047 bytes is too long for UDP (at most 65507); use tcp"),
        ({"protocol": "sctp"}, None),
    ],
)  # fmt: skip
async def test_bad_inputs(extra: dict[str, object], error: str | None) -> None:
    props = {"host": "127.0.0.1", "port": 9, "message": "m", "hostname": "h", "procid": "1",
             **extra}  # fmt: skip
    r = await run_activity(send_syslog, props)
    assert r.status == "failed"
    if error is None:
        assert (r.error or "").startswith(f"property {next(iter(extra))}")
    else:
        assert r.error == error
