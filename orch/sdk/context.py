"""The context an activity receives: who it runs for, and what it may do.

One :class:`Context` per activity run. What is shared by every run of an
instance (ids, parameters, variables, the child-runbook launcher, the declared
returned data) lives once in an :class:`InstanceInfo`, so creating a context
costs a few attribute writes — the runtime makes one per run.

Cancellation is asyncio's: a stop or a timeout cancels the activity's
coroutine (``asyncio.CancelledError``), so an activity that holds an outside
resource (a process, a child job) releases it in ``except CancelledError`` /
``finally`` and re-raises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Literal, Protocol

from orch.errors import ActivityError
from orch.logging import get_logger
from orch.sdk.services import NO_SERVICES, Services, TriggerSink

Item = dict[str, str]
RunOutcome = Literal["success", "warning", "failed"]

_EMPTY: Mapping[str, str] = MappingProxyType({})


class ChildJob(Protocol):
    """How a child job ended (``invoke_runbook``)."""

    job_id: str
    status: str
    returned_data: dict[str, str]


class RunbookLauncher(Protocol):
    """Starts child runbooks on behalf of the running instance."""

    async def start(self, runbook: str, parameters: dict[str, str]) -> str:
        """Start a job of ``runbook`` (path or id); return the child job id."""

    async def wait(self, job_id: str) -> ChildJob:
        """Wait until the child job has ended."""

    async def stop(self, job_id: str) -> None:
        """Ask the child job to stop."""


class VariableLookup(Protocol):
    async def get_variables(self, names: frozenset[str]) -> dict[str, str]: ...


LOG_STREAMS = frozenset({"log", "stdout", "stderr"})


class LogSink(Protocol):
    """Where the instance log goes (the runbook server writes it to the database in batches).

    ``write`` must not block: it is called from activities, once per line.
    """

    def write(self, instance_id: str, run_id: str, activity: str, stream: str,
              text: str) -> None: ...


class InstanceInfo:
    """Per-instance facts shared by the contexts of all its runs."""

    __slots__ = (
        "instance_id",
        "job_id",
        "log_sink",
        "parameters",
        "returns",
        "runbook_id",
        "runbook_name",
        "runbook_path",
        "runbooks",
        "server",
        "services",
        "triggers",
        "variable_source",
        "variables",
    )

    def __init__(
        self,
        *,
        job_id: str = "",
        instance_id: str = "",
        runbook_id: str = "",
        runbook_name: str = "",
        runbook_path: str = "",
        server: str = "",
        parameters: Mapping[str, str] = _EMPTY,
        variables: Mapping[str, str] = _EMPTY,
        variable_source: VariableLookup | None = None,
        returns: frozenset[str] | None = None,
        runbooks: RunbookLauncher | None = None,
        services: Services | None = None,
        triggers: TriggerSink | None = None,
        log_sink: LogSink | None = None,
    ) -> None:
        self.job_id = job_id
        self.instance_id = instance_id
        self.runbook_id = runbook_id
        self.runbook_name = runbook_name
        self.runbook_path = runbook_path
        self.server = server
        self.parameters = parameters
        self.variables = variables
        self.variable_source = variable_source
        self.returns = returns
        """Names the runbook declares in ``returns`` (None: any name accepted)."""
        self.runbooks = runbooks
        self.services = services if services is not None else NO_SERVICES
        """Counters, variables, schedules, approvals, webhooks (``ctx.services``)."""
        self.triggers = triggers
        """Where a monitor's triggers go (None: this runtime runs no monitors)."""
        self.log_sink = log_sink
        """Where ``Context.write_log`` lines go (None: to the structured log only)."""


Arrivals = Callable[[str], Sequence[Item]]


def _no_arrivals(activity_id: str) -> Sequence[Item]:
    return ()


class Context:
    """What a running activity can see and do (one per run)."""

    __slots__ = (
        "_arrivals",
        "_log",
        "_messages",
        "_returned",
        "_status",
        "activity_id",
        "activity_name",
        "attempt",
        "info",
        "item",
        "progress_message",
        "run_id",
    )

    def __init__(
        self,
        info: InstanceInfo,
        activity_id: str,
        activity_name: str,
        run_id: str,
        attempt: int = 1,
        item: int = 0,
        arrivals: Arrivals = _no_arrivals,
    ) -> None:
        self.info = info
        self.activity_id = activity_id
        self.activity_name = activity_name
        self.run_id = run_id
        self.attempt = attempt
        self.item = item
        self._arrivals = arrivals
        self._status: RunOutcome = "success"
        self._messages: list[str] | None = None
        self._returned: dict[str, str] | None = None
        self._log: Any = None
        self.progress_message: str | None = None

    # -- identity --------------------------------------------------------
    @property
    def job_id(self) -> str:
        return self.info.job_id

    @property
    def instance_id(self) -> str:
        return self.info.instance_id

    @property
    def parameters(self) -> Mapping[str, str]:
        """The job's parameters, as text (checked against their declared types)."""
        return self.info.parameters

    @property
    def log(self) -> Any:
        """A structlog logger bound to the job, instance, activity and run (made on first use)."""
        if self._log is None:
            self._log = get_logger(
                "orch.activity",
                job_id=self.info.job_id,
                instance_id=self.info.instance_id,
                activity_id=self.activity_id,
                run_id=self.run_id,
            )
        return self._log

    # -- status ----------------------------------------------------------
    @property
    def status(self) -> RunOutcome:
        return self._status

    @property
    def message(self) -> str | None:
        """Warnings and failure reasons so far, joined (the run's ErrorSummary)."""
        return "; ".join(self._messages) if self._messages else None

    def warn(self, message: str) -> None:
        """End the run in ``warning`` (unless it fails), with ``message`` in its ErrorSummary."""
        if self._status == "success":
            self._status = "warning"
        self._add(message)

    def fail(self, message: str) -> None:
        """End the run ``failed`` but still publish what the activity returns.

        Raising an exception also fails the run, without published fields of
        its own; ``fail`` is for failures that have data worth following
        (an exit code, a child job id).
        """
        self._status = "failed"
        self._add(message)

    def progress(self, message: str) -> None:
        """Report how far the activity got (logged, and kept as the run's last progress)."""
        self.progress_message = message
        self.log.info("progress", message=message)

    def write_log(self, text: str, stream: str = "log") -> None:
        """Add ``text`` to the instance log (``GET /api/v1/instances/{id}/log``).

        ``stream`` is ``log`` (what the activity has to say), ``stdout`` or
        ``stderr`` (a program's output, line by line as it streams). Without
        an instance log (tests, the Runbook Tester) the line goes to the
        structured log at debug level.
        """
        if stream not in LOG_STREAMS:
            raise ValueError(f"stream must be one of {sorted(LOG_STREAMS)}, not {stream!r}")
        sink = self.info.log_sink
        if sink is None:
            self.log.debug("instance log", stream=stream, text=text)
            return
        sink.write(self.info.instance_id, self.run_id, self.activity_id, stream, text)

    @property
    def streams_log(self) -> bool:
        """Whether ``write_log`` reaches an instance log (worth streaming output into)."""
        return self.info.log_sink is not None

    def _add(self, message: str) -> None:
        if self._messages is None:
            self._messages = [message]
        else:
            self._messages.append(message)

    # -- returned data ---------------------------------------------------
    def set_returned_data(self, data: Mapping[str, str]) -> None:
        """Set the runbook's returned data (names must be declared in ``returns``).

        Applied when the run succeeds; a later run overrides an earlier one
        name by name.
        """
        declared = self.info.returns
        if declared is not None:
            unknown = sorted(set(data) - declared)
            if unknown:
                raise ActivityError(
                    f"returned data {', '.join(unknown)} not declared in the runbook's returns"
                )
        if self._returned is None:
            self._returned = {}
        self._returned.update(data)

    @property
    def returned_data(self) -> dict[str, str] | None:
        return self._returned

    # -- variables -------------------------------------------------------
    @property
    def variables(self) -> Mapping[str, str]:
        """Variables the runbook references (``{variable:Name}``), fetched once per instance."""
        return self.info.variables

    async def variable(self, name: str) -> str | None:
        """A variable's value, prefetched or looked up now; None when it does not exist."""
        value = self.info.variables.get(name)
        if value is not None or self.info.variable_source is None:
            return value
        found = await self.info.variable_source.get_variables(frozenset((name,)))
        return found.get(name)

    # -- other runbooks and upstream data ---------------------------------
    @property
    def runbooks(self) -> RunbookLauncher:
        """Start, wait for and stop child runbooks."""
        if self.info.runbooks is None:
            raise ActivityError("starting other runbooks is not available here")
        return self.info.runbooks

    def arrivals(self, activity_id: str) -> Sequence[Item]:
        """Items that arrived over links from ``activity_id`` (junctions), in arrival order."""
        return self._arrivals(activity_id)

    # -- shared state and monitors -------------------------------------------
    @property
    def services(self) -> Services:
        """Counters, variables, schedules, approvals and webhooks of this runtime."""
        return self.info.services

    async def trigger(self, data: Any) -> str:
        """Monitors: run the rest of the runbook with ``data`` as this activity's
        published data (a Published Struct, a mapping, or a list: several items),
        as a new instance of the job; returns once that instance is recorded.

        A monitor declared as an async generator does not call this: each
        value it yields is a trigger.
        """
        sink = self.info.triggers
        if sink is None:
            raise ActivityError("monitors trigger only when they start a runbook on a server")
        from orch.sdk.convert import to_items

        return await sink.trigger(self, to_items(data))
