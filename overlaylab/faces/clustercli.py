"""The `overlaylab cluster` command: simulated machines on this one (`simulate N`, `clean`), a thin layer
over overlaylab.runtime.simcluster."""
from __future__ import annotations

import argparse
from typing import Any

EXIT_OK = 0


def add(sub: Any) -> None:
    cluster = sub.add_parser(
        "cluster", help="simulated machines on this one, for --hosts without a cluster: simulate N, clean",
        description="`cluster simulate N` makes N machines here (network namespaces, each with its own sshd and "
                    "Open vSwitch run directory, joined by a bridge) and prints, last, the --hosts value to use; "
                    "`cluster clean` removes them.")
    cluster.add_argument("action", choices=("simulate", "clean"))
    cluster.add_argument("count", nargs="?", type=int, help="simulate: how many machines (1 to 16)")


def run(args: argparse.Namespace) -> int:
    from overlaylab.errors import LabError
    from overlaylab.runtime.preflight import require_root
    from overlaylab.runtime.simcluster import clean, simulate
    from overlaylab.runtime.simplan import hosts_value
    require_root(f"cluster {args.action}")
    if args.action == "clean":
        removed = clean()
        print(f"overlaylab: simulated cluster removed: {removed}" if removed else
              "overlaylab: no simulated cluster here: nothing to remove")
        return EXIT_OK
    if args.count is None:
        raise LabError("say how many machines: `overlaylab cluster simulate N`, N from 1 to 16")
    machines = simulate(args.count, lambda line: print(f"overlaylab: {line}", flush=True))
    print(f"overlaylab: {len(machines)} simulated machines answer ssh; run a lab over them with --hosts "
          f"(`overlaylab cluster clean` removes them):")
    print(hosts_value(machines))
    return EXIT_OK
