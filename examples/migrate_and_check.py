"""Move a running VM across the datacenter and prove nothing else noticed.

    sudo .venv/bin/python examples/migrate_and_check.py [SCENARIO]

Brings up the lecture's lab, starts a long-running process inside pepsi/web, moves the VM to a server
in another pod and back (a peer measures each move), then runs every check of `overlaylab check`.
"""
from __future__ import annotations

import sys

from overlaylab import Lab


def main(scenario: str = "topologies/lecture.yaml") -> int:
    with Lab(scenario) as lab:
        web = lab.node("pepsi/web")
        web.cmd("sleep 600 &")
        worker = web.cmd("echo $!").strip()
        for server in ("p3e1h0", "p0e0h0"):
            moved = lab.migrate("pepsi/web", server)
            stream, changes = moved["stream"], moved["changes"]
            print(f"pepsi/web {moved['from']} -> {moved['to']} in {moved['moved_in']:.2f} s: peer lost "
                  f"{stream['lost']} of {stream['sent']} probes (longest gap {stream['longest_gap']:.2f} s); "
                  f"flow changes: underlay {changes['underlay']}, virtual switches {changes['vswitches']}")
        alive = web.cmd(f"kill -0 {worker} && echo alive || echo gone").strip()
        loss = next((line for line in web.cmd("ping -c1 -W1 192.0.2.3").splitlines() if "loss" in line), "?")
        print(f"the process inside pepsi/web: {alive}; ping pepsi/db: {loss}")
        report = lab.check()
        for check in report.checks:
            print(f"  {check.status.value:>14}  {check.name}")
        print("all checks passed" if report.ok else "some checks FAILED")
        return 0 if report.ok and alive == "alive" else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
