"""expr: the cost of the expression language, parsed once at check-in and rendered per run.

Parses and renders a fixed set of property strings (plain text, a shell
script, a JSON body with references, data-function calls) and prints one
JSON line: microseconds per ``parse_template`` and per ``Template.render``
(the median of ``--rounds`` rounds of ``--n`` calls each), and the
``python_us`` reference loop of ``bench/floor.py`` to read them against.
No database: this is the CPU cost only.

    python bench/expr.py [--n 2000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import json

from _timing import per_call_us, python_us

from orch.document.expr import MappingScope, parse_template

TEXTS = {
    "plain": "Restart the service on the primary node and wait for it to come back up.",
    "script": (
        "set -eu\n"
        "for host in {start.Hosts}; do\n"
        '  ssh "$host" systemctl restart {start.Service}\n'
        "done\n"
        'echo "restarted {start.Service} for job {runbook.JobId}"\n'
    )
    * 4,
    "json": (
        '{{"ticket": "{start.Ticket}", "region": "{variable:Region}", '
        '"owner": "[Upper({start.Owner})]", "count": [Sum({start.Count}, 1)]}}'
    ),
    "calls": "[Field([Upper([Trim({start.Hosts})])], ' ', [Sum(1, 1)])]-[Left({start.Ticket}, 3)]",
}

SCOPE = MappingScope(
    values={
        "start": {
            "Hosts": "  web1 web2 web3  ",
            "Service": "nginx",
            "Ticket": "INC0012345",
            "Owner": "ops",
            "Count": "41",
        }
    },
    runbook_data={"JobId": "j-1", "InstanceId": "i-1", "Name": "Restart", "Server": "s1"},
    variables={"Region": "eu-west"},
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    out: dict[str, object] = {"workload": "expr", "n": args.n, "rounds": args.rounds}
    for name, text in TEXTS.items():
        template = parse_template(text)
        out[f"{name}_chars"] = len(text)
        out[f"{name}_parse_us"] = per_call_us(
            lambda t=text: parse_template(t), args.n, args.rounds, digits=3
        )
        out[f"{name}_render_us"] = per_call_us(
            lambda t=template: t.render(SCOPE), args.n, args.rounds, digits=3
        )
    out["python_us"] = round(python_us(), 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
