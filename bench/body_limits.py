"""body_limits: what the request body decoder's limits cost over a bare ``msgspec.json.decode``.

Every JSON body goes through ``orch.gateway.bodies.decode_json``: msgspec's
decode, then the nesting-depth check (64 levels, without recursion) and the
integer-range check (signed 64 bits). This prints one JSON line: µs per call
of both (the median of ``--rounds`` rounds of ``--n`` calls each) for

- ``hello``/``branching``: the example runbooks (0.7 and 2 KB; few brackets,
  so the depth check stops at its first test);
- ``big``: a 2,000-activity runbook (about 300 KB), where it runs in full;
- ``hostile``: a 4 MB body of 63-deep nests side by side in one list (64
  levels: accepted), the depth check's worst case (each of its 64 rounds has
  work to do);
- ``refused``: the same one level deeper, refused (the check, then the search
  for the path it names).

and the ``python_us`` reference loop of ``bench/floor.py``. No database.

    python bench/body_limits.py [--n 200] [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import msgspec
from _timing import per_call_us, python_us

from orch.gateway.bodies import MAX_DEPTH, decode_json
from orch.gateway.errors import BodyRefused

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _big_runbook(activities: int) -> bytes:
    acts = [{"id": "start", "type": "initialize_data",
             "properties": {"parameters": [{"name": "Name", "type": "string"}]}}]
    acts += [{"id": f"a{i}", "type": "run_program", "name": f"Step {i}",
              "properties": {"program": "echo", "args": [f"step {i} for {{start.Name}}"]}}
             for i in range(activities)]
    links = [{"from": "start", "to": "a0"}]
    links += [{"from": f"a{i}", "to": f"a{i + 1}",
               "include": [{"data": "Status", "op": "equals", "value": "success"}]}
              for i in range(activities - 1)]
    return msgspec.json.encode({"format": "orch.runbook/1", "name": "Big", "folder": "/Bench",
                                "activities": acts, "links": links})


def _hostile(size: int, depth: int) -> bytes:
    nest = b"[" * (depth - 1) + b"]" * (depth - 1)
    return b"[" + b",".join([nest] * (size // (len(nest) + 1))) + b"]"


def _decode_or_refuse(body: bytes) -> None:
    try:
        decode_json(body)
    except BodyRefused:
        pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    bodies = {
        "hello": (EXAMPLES / "hello.json").read_bytes(),
        "branching": (EXAMPLES / "branching.json").read_bytes(),
        "big": _big_runbook(2_000),
        "hostile": _hostile(4 * 1024 * 1024 - 2, MAX_DEPTH),
        "refused": _hostile(4 * 1024 * 1024 - 2, MAX_DEPTH + 1),
    }
    out: dict[str, object] = {"workload": "body_limits", "n": args.n, "rounds": args.rounds}
    for name, body in bodies.items():
        n = args.n if len(body) < 100_000 else max(args.n // 20, 3)
        rounds = args.rounds if len(body) < 1_000_000 else 3
        out[f"{name}_bytes"] = len(body)
        out[f"{name}_msgspec_us"] = per_call_us(lambda b=body: msgspec.json.decode(b),
                                                 n if rounds == args.rounds else 1, rounds)
        out[f"{name}_decode_json_us"] = per_call_us(lambda b=body: _decode_or_refuse(b),
                                                     n if rounds == args.rounds else 1, rounds)
    out["python_us"] = round(python_us(), 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
