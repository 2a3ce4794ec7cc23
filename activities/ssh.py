"""``run_ssh_command``: run one command on another machine over SSH (asyncssh).

Authentication is by password or by a private key given as text (both are
secret properties, typically ``{variable:Name}`` of an encrypted variable);
the runbook server's own keys and agent are never used, so a runbook can
only do what its properties allow. The host key is checked against the
known-hosts text given, or the runbook server's ``~/.ssh/known_hosts``;
``host_key_policy: ignore`` turns the check off (test machines only).

The connection is closed when the run ends, a stop or a timeout included;
closing the channel ends the remote command's session.
"""

from __future__ import annotations

import asyncio
from typing import Literal

import asyncssh
import msgspec

from activities import _process
from orch.sdk import ActivityError, Context, Inputs, Published, Secret, activity


class RunSshCommandInputs(Inputs):
    host: str
    """Host name or address of the machine."""
    command: str
    """The command line, run by the remote user's login shell."""
    user: str
    """Remote user name."""
    port: int = 22
    """SSH port."""
    password: Secret = ""
    """Password (secret); give this or ``private_key``."""
    private_key: Secret = ""
    """Private key text, OpenSSH or PEM (secret); give this or ``password``."""
    passphrase: Secret = ""
    """Passphrase of an encrypted ``private_key`` (secret)."""
    host_key_policy: Literal["known_hosts", "ignore"] = "known_hosts"
    """``known_hosts``: the host key must be listed in ``known_hosts`` (or, when that is
    empty, in the runbook server's ~/.ssh/known_hosts); ``ignore``: accept any key."""
    known_hosts: str = ""
    """Trusted host keys in known_hosts format (``host ssh-ed25519 AAAA…`` lines)."""
    connect_timeout_seconds: float = 30
    """Time allowed to connect and log in."""
    success_exit_codes: list[int] = msgspec.field(default_factory=lambda: [0])
    """Exit codes that count as success; any other fails the run (its data is still published)."""
    max_output_bytes: int = _process.DEFAULT_MAX_OUTPUT
    """Captured bytes per stream; the rest is dropped and marked."""


class SshCommandResult(Published):
    Output: str
    """Standard output, one trailing newline removed."""
    ErrorOutput: str
    """Standard error, one trailing newline removed."""
    ExitCode: int
    """The command's exit status (-1 when it ended by a signal or gave none)."""


@activity(
    "run_ssh_command",
    display_name="Run SSH Command",
    category="System",
    rerunnable=False,
)
async def run_ssh_command(ctx: Context, inputs: RunSshCommandInputs) -> SshCommandResult:
    """Run ``command`` on ``host`` over SSH; publish its output and exit code.

    An exit code outside ``success_exit_codes`` fails the run while still
    publishing ``Output``, ``ErrorOutput`` and ``ExitCode``.
    """
    options = await _options(inputs)
    where = f"{inputs.user}@{inputs.host}:{inputs.port}"
    try:
        conn = await asyncio.wait_for(
            asyncssh.connect(inputs.host, inputs.port, options=options),
            inputs.connect_timeout_seconds,
        )
    except TimeoutError:
        raise ActivityError(
            f"no SSH connection to {where} within {inputs.connect_timeout_seconds:g} s"
        ) from None
    except asyncssh.HostKeyNotVerifiable:
        raise ActivityError(
            f"host key of {inputs.host}:{inputs.port} is not trusted "
            "(add it to known_hosts, or set host_key_policy)"
        ) from None
    except asyncssh.PermissionDenied:
        raise ActivityError(f"SSH authentication failed for {where}") from None
    except asyncssh.Error as exc:
        raise ActivityError(f"SSH connection to {where} failed: {exc.reason}") from None
    except OSError as exc:
        raise ActivityError(f"cannot connect to {inputs.host}:{inputs.port}: {exc}") from None
    ctx.log.debug("ssh connected", host=inputs.host, port=inputs.port, user=inputs.user)
    try:
        result = await _run(ctx, conn, inputs)
    finally:
        conn.close()
        await conn.wait_closed()
    return result


async def _options(inputs: RunSshCommandInputs) -> asyncssh.SSHClientConnectionOptions:
    if not inputs.host:
        raise ActivityError("property host: a host is required")
    if not 0 < inputs.port < 65536:
        raise ActivityError("property port: must be between 1 and 65535")
    if not inputs.user:
        raise ActivityError("property user: a user name is required")
    if not inputs.password and not inputs.private_key:
        raise ActivityError("property password: give a password or a private_key")
    if inputs.connect_timeout_seconds <= 0:
        raise ActivityError("property connect_timeout_seconds: must be greater than 0")
    if inputs.max_output_bytes < 0:
        raise ActivityError("property max_output_bytes: must not be negative")
    keys = []
    if inputs.private_key:
        try:
            # decrypting a key runs a deliberately slow KDF: keep it off the event loop
            key = await asyncio.to_thread(
                asyncssh.import_private_key, inputs.private_key, inputs.passphrase or None
            )
            keys.append(key)
        except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError) as exc:
            raise ActivityError(f"property private_key: cannot read the key: {exc}") from None
    known_hosts: object = ()
    if inputs.host_key_policy == "ignore":
        known_hosts = None
    elif inputs.known_hosts.strip():
        try:
            known_hosts = asyncssh.import_known_hosts(inputs.known_hosts)
        except (ValueError, asyncssh.Error) as exc:
            raise ActivityError(f"property known_hosts: cannot read it: {exc}") from None
    return asyncssh.SSHClientConnectionOptions(
        username=inputs.user,
        password=inputs.password or None,
        client_keys=keys or None,
        passphrase=inputs.passphrase or None,
        known_hosts=known_hosts,
        agent_path=None,
        preferred_auth=_auth_methods(inputs),
        login_timeout=inputs.connect_timeout_seconds,
        keepalive_interval=30,
    )


def _auth_methods(inputs: RunSshCommandInputs) -> list[str]:
    methods = []
    if inputs.private_key:
        methods.append("publickey")
    if inputs.password:
        methods += ["keyboard-interactive", "password"]
    return methods


async def _run(
    ctx: Context, conn: asyncssh.SSHClientConnection, inputs: RunSshCommandInputs
) -> SshCommandResult:
    try:
        proc = await conn.create_process(inputs.command, encoding=None, stdin=asyncssh.DEVNULL)
    except asyncssh.ChannelOpenError as exc:
        raise ActivityError(f"the SSH server refused the session: {exc.reason}") from None
    limit = inputs.max_output_bytes
    async with asyncio.TaskGroup() as tg:
        out = tg.create_task(_process.capture(proc.stdout, limit), name=f"{ctx.run_id}/ssh-stdout")
        err = tg.create_task(_process.capture(proc.stderr, limit), name=f"{ctx.run_id}/ssh-stderr")
    await proc.wait_closed()
    status = proc.exit_status
    code = status if status is not None and status >= 0 else -1
    output, error_output = out.result(), err.result()
    if status is None or status < 0:
        signal_name = proc.exit_signal[0] if proc.exit_signal else "no exit status"
        ctx.fail(f"remote command ended without an exit code ({signal_name})")
    elif code not in inputs.success_exit_codes:
        first = _process.first_line(error_output)
        ctx.fail(f"exit code {code}" + (f": {first}" if first else ""))
    return SshCommandResult(
        Output=_process.chomp(output),
        ErrorOutput=_process.chomp(error_output),
        ExitCode=code,
    )
