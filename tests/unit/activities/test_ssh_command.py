"""run_ssh_command against an asyncssh server started on 127.0.0.1 with generated keys."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncssh
import pytest
import pytest_asyncio

from activities.ssh import run_ssh_command
from orch.sdk import Context, InstanceInfo, convert_inputs
from orch.sdk.testing import run_activity

USER = "ops"
PASSWORD = "s3cret"


@dataclass
class SshServer:
    port: int
    known_hosts: str
    client_key: str
    sleeping: asyncio.Event = field(default_factory=asyncio.Event)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    commands: list[str] = field(default_factory=list)


def _make_server_class(state: SshServer, authorized: asyncssh.SSHAuthorizedKeys) -> type:
    class Server(asyncssh.SSHServer):
        def connection_lost(self, exc: Exception | None) -> None:
            state.closed.set()

        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, password: str) -> bool:
            return username == USER and password == PASSWORD

        def public_key_auth_supported(self) -> bool:
            return True

        def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
            return username == USER and (
                authorized.validate(key, "127.0.0.1", "127.0.0.1") is not None
            )

    return Server


async def _handle(state: SshServer, process: asyncssh.SSHServerProcess) -> None:
    command = process.command or ""
    state.commands.append(command)
    if command.startswith("echo "):
        process.stdout.write(command[5:] + "\n")
        process.exit(0)
    elif command == "fail":
        process.stdout.write("partial\n")
        process.stderr.write("bad thing happened\n")
        process.exit(3)
    elif command == "big":
        process.stdout.write("x" * 10000)
        process.exit(0)
    elif command == "signal":
        process.exit_with_signal("KILL")
    elif command == "sleep":
        state.sleeping.set()
        await state.closed.wait()
        process.close()
    else:
        process.stderr.write(f"unknown command: {command}\n")
        process.exit(127)


@pytest_asyncio.fixture(loop_scope="function")
async def ssh_server() -> AsyncIterator[SshServer]:
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    authorized = asyncssh.import_authorized_keys(client_key.export_public_key().decode())
    state = SshServer(
        port=0,
        known_hosts="",
        client_key=client_key.export_private_key().decode(),
    )
    server = await asyncssh.create_server(
        _make_server_class(state, authorized),
        "127.0.0.1",
        0,
        server_host_keys=[host_key],
        process_factory=lambda p: _handle(state, p),
    )
    state.port = server.sockets[0].getsockname()[1]
    public = host_key.export_public_key().decode().strip()
    state.known_hosts = f"[127.0.0.1]:{state.port} {public}\n"
    try:
        yield state
    finally:
        server.close()
        await server.wait_closed()


def _props(server: SshServer, **extra: object) -> dict[str, object]:
    return {
        "host": "127.0.0.1",
        "port": server.port,
        "user": USER,
        "known_hosts": server.known_hosts,
        **extra,
    }


async def test_password_login_runs_the_command(ssh_server: SshServer) -> None:
    r = await run_activity(
        run_ssh_command, _props(ssh_server, password=PASSWORD, command="echo hello world")
    )
    assert r.status == "success", r.error
    assert r.items == [{"Output": "hello world", "ErrorOutput": "", "ExitCode": "0"}]
    assert ssh_server.commands == ["echo hello world"]


async def test_private_key_login(ssh_server: SshServer) -> None:
    r = await run_activity(
        run_ssh_command, _props(ssh_server, private_key=ssh_server.client_key, command="echo k")
    )
    assert r.status == "success", r.error
    assert r.items[0]["Output"] == "k"


@pytest.mark.filterwarnings("ignore:Warning. bcrypt.kdf")  # one round: a test key
async def test_encrypted_private_key_with_passphrase(ssh_server: SshServer) -> None:
    key = asyncssh.import_private_key(ssh_server.client_key)
    encrypted = key.export_private_key(passphrase="pp", rounds=1).decode()
    props = _props(ssh_server, private_key=encrypted, command="echo e")
    r = await run_activity(run_ssh_command, {**props, "passphrase": "pp"})
    assert r.status == "success", r.error
    r = await run_activity(run_ssh_command, {**props, "passphrase": "wrong"})
    assert r.status == "failed"
    assert (r.error or "").startswith("property private_key: cannot read the key:")


async def test_exit_code_fails_but_publishes(ssh_server: SshServer) -> None:
    r = await run_activity(run_ssh_command, _props(ssh_server, password=PASSWORD, command="fail"))
    assert (r.status, r.error) == ("failed", "exit code 3: bad thing happened")
    assert r.items == [{"Output": "partial", "ErrorOutput": "bad thing happened", "ExitCode": "3"}]
    r = await run_activity(
        run_ssh_command,
        _props(ssh_server, password=PASSWORD, command="fail", success_exit_codes=[0, 3]),
    )
    assert r.status == "success"


async def test_output_cap_and_signal(ssh_server: SshServer) -> None:
    r = await run_activity(
        run_ssh_command,
        _props(ssh_server, password=PASSWORD, command="big", max_output_bytes=10),
    )
    assert r.items[0]["Output"] == "x" * 10 + "\n[output truncated: 9990 more bytes]"
    r = await run_activity(run_ssh_command, _props(ssh_server, password=PASSWORD, command="signal"))
    assert (r.status, r.error) == ("failed", "remote command ended without an exit code (KILL)")
    assert r.items[0]["ExitCode"] == "-1"


async def test_wrong_password(ssh_server: SshServer) -> None:
    r = await run_activity(run_ssh_command, _props(ssh_server, password="nope", command="echo x"))
    assert (r.status, r.error) == (
        "failed",
        f"SSH authentication failed for {USER}@127.0.0.1:{ssh_server.port}",
    )
    assert ssh_server.commands == []


async def test_untrusted_host_key_is_refused_unless_ignored(ssh_server: SshServer) -> None:
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    props = _props(ssh_server, password=PASSWORD, command="echo x")
    props["known_hosts"] = f"[127.0.0.1]:{ssh_server.port} {other}\n"
    r = await run_activity(run_ssh_command, props)
    assert (r.status, r.error) == (
        "failed",
        f"host key of 127.0.0.1:{ssh_server.port} is not trusted "
        "(add it to known_hosts, or set host_key_policy)",
    )
    assert ssh_server.commands == []
    r = await run_activity(run_ssh_command, {**props, "host_key_policy": "ignore"})
    assert r.status == "success", r.error


async def test_cancellation_closes_the_connection(ssh_server: SshServer) -> None:
    ctx = Context(InstanceInfo(), "s", "s", "run-1")
    inputs = convert_inputs(run_ssh_command, _props(ssh_server, password=PASSWORD, command="sleep"))
    task = asyncio.create_task(run_ssh_command.fn(ctx, inputs))
    await asyncio.wait_for(ssh_server.sleeping.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(ssh_server.closed.wait(), 10)


async def test_unreachable_port() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = await run_activity(
        run_ssh_command,
        {"host": "127.0.0.1", "port": port, "user": "u", "password": "p", "command": "x"},
    )
    assert r.status == "failed"
    assert (r.error or "").startswith(f"cannot connect to 127.0.0.1:{port}:")


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({}, "property password: give a password or a private_key"),
        ({"password": "p", "port": 0}, "property port: must be between 1 and 65535"),
        ({"private_key": "not a key"}, None),
        ({"password": "p", "host_key_policy": "trust_me"}, None),
    ],
)
async def test_bad_inputs(extra: dict[str, object], error: str | None) -> None:
    props = {"host": "127.0.0.1", "user": "u", "command": "x", **extra}
    r = await run_activity(run_ssh_command, props)
    assert r.status == "failed"
    if error is not None:
        assert r.error == error
    else:
        prop = next(iter(k for k in extra if k != "password"))
        assert (r.error or "").startswith(f"property {prop}")
