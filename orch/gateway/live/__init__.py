"""The live status feed: ``GET /api/v1/live``, a websocket fed from the ``events`` table.

Modules: :mod:`tracker` (ordered, gap-safe delivery: the design is in its
docstring), :mod:`reader` (LISTEN and batched reads, one per gateway process),
:mod:`hub` (subscriptions and fan-out), :mod:`socket` (one client: outbox,
writer, messages), :mod:`feed` (the handler and the app wiring), :mod:`access`
(the permission hook).
"""

from __future__ import annotations

from orch.gateway.live.feed import LIVE, LiveFeed, LiveOptions, install_live, live
from orch.gateway.live.reader import ReaderOptions

__all__ = ["LIVE", "LiveFeed", "LiveOptions", "ReaderOptions", "install_live", "live"]
