"""How a run was triggered, in the opaque ``RunStart.lineage`` the store keeps.

A run is identified on resume by its trigger: the activity, the upstream run
that delivered it (``parent_run``), the link it came over and the upstream
item it is bound to (``item``). ``parent_run`` and ``item`` are columns of
their own; the lineage adds the link and how the run binds its parent's
items. Bindings to activities further up are not stored: they follow from the
chain of parent runs, every one of which finished (and was recorded) before
its children started.

Encoding: a msgpack array ``[link, flat, sources]``:

- ``link``: index of the link in the document's ``links``; ``-1`` for the
  starting run, ``-2`` for a junction firing.
- ``flat``: the run flattens its parent's items (``flatten``): it is bound to
  every item that passed the link, joined, and ``item`` is 0.
- ``sources``: for a junction with ``return_data_from``, the ``[run_id,
  item]`` arrivals it republishes, in order (its item *k* carries the lineage
  of ``sources[k]``).

The per-link encodings are computed once per compiled runbook, so recording
a run costs no encoding.
"""

from __future__ import annotations

import msgspec

START_LINK = -1
JUNCTION_LINK = -2


class Lineage(msgspec.Struct, array_like=True, frozen=True):
    link: int
    flat: bool = False
    sources: list[tuple[str, int]] = []


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Lineage)


def encode(lineage: Lineage) -> bytes:
    return _encoder.encode(lineage)


def decode(data: bytes) -> Lineage:
    """Read a recorded lineage; an empty or unreadable one reads as 'unknown link'."""
    if not data:
        return Lineage(link=-3)
    try:
        return _decoder.decode(data)
    except msgspec.DecodeError:
        return Lineage(link=-3)


START = encode(Lineage(link=START_LINK))
