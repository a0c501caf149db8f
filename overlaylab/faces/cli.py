"""The `overlaylab` command: up, check, ls, down, clean, bench ... (the command contract in README.md)."""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from overlaylab.errors import LabError
from overlaylab.faces import clustercli, exercisecli
from overlaylab.system import columns, interrupt, wrapped
from topologies.names import edge_port, vswitch_name
from topologies.scenario import Mode, Scenario, ScenarioError

EXIT_OK, EXIT_FAILED, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="overlaylab", description="A datacenter virtualization lab: "
                                     "fat-tree underlay, virtual switches, tenant overlays.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("up", "build the lab and open its CLI; tear down on exit"),
                       ("check", "build the lab, verify it, tear it down; exit 0 only if all holds")):
        cmd = sub.add_parser(name, help=text, description=text)
        cmd.add_argument("scenario", nargs="?", type=Path, help="scenario YAML (default: the bundled lecture.yaml)")
        cmd.add_argument("--k", type=int, help="fat-tree k, overriding the scenario's")
        cmd.add_argument("--mode", type=Mode, choices=list(Mode), default=Mode.OVERLAY,
                         help="overlay (default): VMs encapsulated between servers; flat: the underlay routes "
                              "every VM address itself, no encapsulation (addresses must not overlap)")
        _name(cmd)
        _hosts(cmd)
        if name == "up":
            cmd.add_argument("--web", metavar="[ADDR:]PORT", help="also serve the live view of the lab in a browser "
                                                                  "(127.0.0.1 unless ADDR is given), read-only")
            cmd.add_argument("--web-buttons", action="store_true", help="give the live view buttons that take links "
                             "down and up and migrate VMs, working only at the address written to a file of yours")
        if name == "check":
            cmd.add_argument("--json", type=Path, metavar="FILE", help="write the JSON report here")
    sub.add_parser("ls", help="list this machine's labs: name, owner, scenario, k, VMs, age, memory, state")
    down = sub.add_parser("down", help="stop a running lab (yours), tearing it down")
    down.add_argument("lab", metavar="NAME", help="the lab's name, as `overlaylab ls` shows it")
    clean = sub.add_parser("clean", help="remove what crashed labs left behind (never a running lab's)")
    clean.add_argument("lab", nargs="?", metavar="NAME", help="only this lab's (default: every stale lab's)")
    drill = sub.add_parser("drill", help="links, switches, a virtual switch and the controller fail and heal, and "
                                         "a VM moves, under probe streams; then check", description=_drill.__doc__)
    drill.add_argument("scenario", nargs="?", type=Path, help="scenario YAML (default: the bundled lecture.yaml)")
    drill.add_argument("--k", type=int, help="fat-tree k, overriding the scenario's")
    drill.add_argument("--json", type=Path, metavar="FILE", help="write the JSON report here")
    _name(drill)
    _hosts(drill)
    compare = sub.add_parser("compare", help="flat routing against the overlay on real switches as the VMs grow: "
                                             "underlay table sizes and one migration's flow-mods; CSV and PNG",
                             description="bring up each fabric size with each number of VMs twice, flat and as "
                                         "an overlay; measure the underlay tables and a migration")
    compare.add_argument("--k", type=int, nargs="+", default=[4, 8], help="fabric sizes (default 4 8)")
    compare.add_argument("--vms", type=int, nargs="+", default=[0, 16, 64, 256],
                         help="numbers of VMs (default 0 16 64 256)")
    compare.add_argument("--csv", type=Path, default=Path("compare.csv"), help="default compare.csv")
    compare.add_argument("--png", type=Path, default=Path("compare.png"), help="default compare.png")
    _name(compare)
    demo = sub.add_parser("demo", help="the lecture, section by section, on a live lab, with the evidence of "
                                       "each step; then the lab CLI", description=_demo.__doc__)
    demo.add_argument("scenario", nargs="?", type=Path, help="a scenario with the demo's roles (default: "
                                                             "the lecture's, topologies/lecture.yaml)")
    demo.add_argument("--no-pause", action="store_true", help="run every step unattended (also when stdin is "
                                                               "not a terminal) and tear down at the end")
    demo.add_argument("--step", type=int, default=1, metavar="N", help="start at step N")
    demo.add_argument("--no-cli", action="store_true", help="do not open the lab CLI after the last step")
    demo.add_argument("--out", type=Path, metavar="DIR",
                      help="where the captures go (default /tmp/overlaylab-demo-NAME, NAME the lab's)")
    _name(demo)
    exercisecli.add(sub, _name)
    clustercli.add(sub)
    bench = sub.add_parser("bench", help="time the full probing session (and memory) on a real lab",
                           description="build the lab (default: the datacenter scenario), time the probing "
                                       "session, report memory; exit 0 only within the speed target")
    bench.add_argument("scenario", nargs="?", type=Path, help="scenario YAML (default: topologies/datacenter.yaml)")
    bench.add_argument("--k", type=int, help="fat-tree k, overriding the scenario's")
    bench.add_argument("--repeat", type=int, default=3, help="probing sessions to time (default 3)")
    bench.add_argument("--soak", type=int, metavar="N", help="instead: N cycles of up, check, changes (migrate "
                                                               "away and back, vm add/remove, link down/up), "
                                                               "teardown; exit 0 only with 0 failures")
    bench.add_argument("--scale", action="store_true", help="instead: a full check at k=4, 6 and 8 with 2 VMs "
                                                            "per server, then VM-to-VM TCP throughput")
    bench.add_argument("--labs", type=int, metavar="N", help="instead: N labs of the scenario (default: the "
                                                              "lecture's) side by side, checked and probed across; "
                                                              "then N `check`s at once")
    bench.add_argument("--web", action="store_true", help="instead: the live view in a headless browser on the "
                                                          "scenario (default: topologies/scale.yaml, k=8, 256 VMs): "
                                                          "first paint, changes shown, idle cost, check beside it")
    bench.add_argument("--hosts", metavar="A,B,...", help="instead: the scenario (default: the lecture's) spread "
                                                            "over these machines, each machine's memory against "
                                                            "the capacity model's prediction; then check")
    _name(bench)
    return parser


def _name(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--name", metavar="NAME", help="the lab's name on this machine (default: your user name); "
                                                    "labs of other names run beside it")


def _hosts(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--hosts", metavar="A,B,...",
                     help="spread the lab over these machines, pods whole on each, reached by ssh as root "
                          "(`overlaylab cluster simulate N` makes some here; docs/cluster.md)")


def _up(args: argparse.Namespace) -> int:
    from overlaylab.api.lab import Lab
    from overlaylab.faces.labcli import LabCLI, served
    if args.web_buttons and not args.web:
        raise LabError("--web-buttons gives the live view buttons: serve it too, e.g. --web 8080 --web-buttons")
    with Lab(args.scenario, args.k, quiet=False, mode=args.mode, command="up", name=args.name,
             hosts=args.hosts) as lab:
        scenario = lab.scenario
        width = columns(sys.stdout)
        print(wrapped(f"overlaylab: lab is up: {_summary(scenario)}", width), flush=True)
        print(wrapped(f"overlaylab: try {_hints(scenario)}; `help` lists every command, `exit` tears the lab down",
                      width), flush=True)
        if args.web:
            print(wrapped(f"overlaylab: {served(lab.live, args.web, args.web_buttons)}", width), flush=True)
        LabCLI(lab)
    return EXIT_OK


def _summary(scenario: Scenario) -> str:
    fabric = scenario.fabric
    mode = " in flat mode (the underlay routes every VM; nothing is encapsulated)" if scenario.flat else ""
    return (f"k={fabric.k} fat-tree, {len(fabric.switches)} switches, {len(fabric.servers)} servers, "
            f"{len(scenario.tenants)} tenants, {len(scenario.vms)} VMs{mode} ({scenario.source}: "
            f"{scenario.description})")


def _hints(scenario: Scenario) -> str:
    """Commands worth typing first, with names from this very scenario."""
    last = scenario.fabric.servers[-1].name
    hints = ["`addresses`", f"`trace p0e0h0 {last}`", "`flows p0e0`"]
    peers = next(((a, b) for t in scenario.tenants for a in t.vms for b in t.vms if a is not b), None)
    if peers:
        a, b = peers
        s = a.server
        hints = ["`vms`", f"`{a.label} ping -c3 {b.label}`", f"`trace {a.label} {b.label}`",
                 f"`wire {edge_port(s)} {a.label} ping -c2 {b.label}`",
                 f"`flows {vswitch_name(s)}`", *hints]
    return ", ".join(hints)


def _check(args: argparse.Namespace) -> int:
    from overlaylab.api.lab import Lab
    from overlaylab.verify.report import print_summary, write_json
    with Lab(args.scenario, args.k, quiet=False, mode=args.mode, command="check", name=args.name,
             hosts=args.hosts) as lab:
        report = lab.check()
    print_summary(report, sys.stdout)
    if args.json:
        write_json(report, args.json)
    return EXIT_OK if report.ok else EXIT_FAILED


def _ls(_args: argparse.Namespace) -> int:
    from overlaylab.faces.cliwords import lab_table
    from overlaylab.runtime.machine import rows
    print("\n".join(lab_table(rows())))
    return EXIT_OK


def _down(args: argparse.Namespace) -> int:
    from overlaylab.runtime.machine import down
    from overlaylab.runtime.preflight import require_root
    require_root("down")
    swept = down(args.lab, os.environ.get("SUDO_USER"))
    print(f"overlaylab: lab {args.lab} is down" + (f"; its leftovers were removed: {swept}" if swept else ""))
    return EXIT_OK


def _clean(args: argparse.Namespace) -> int:
    from overlaylab.runtime.machine import clean_one, clean_stale
    from overlaylab.runtime.preflight import require_root
    require_root("clean")
    swept = {args.lab: clean_one(args.lab, os.environ.get("SUDO_USER"))} if args.lab else clean_stale()
    for name, what in swept.items():
        print(f"overlaylab: lab {name}: removed {what}" if what else f"overlaylab: lab {name}: nothing left to remove")
    if not swept:
        print("overlaylab: nothing to clean (running labs are never touched: `overlaylab ls`)")
    return EXIT_OK


def _drill(args: argparse.Namespace) -> int:
    """Bring a lab up, run a fixed set of failures and changes under probe streams, report each event's
    loss, longest gap, recovery time, flow-mods per layer and cross-tenant deliveries, then check; exit 0
    only with no cross-tenant delivery and a green check."""
    from overlaylab.api.runs import drill
    from overlaylab.measure.drill import table
    result = drill(args.scenario, args.k, quiet=False, name=args.name, hosts=args.hosts)
    every = f"one probe each {result['interval'] * 1000:.0f} ms"
    print(f"overlaylab drill: {result['scenario']}: {result['streams']} probe streams, {every}")
    print("\n".join(table(result["events"])))
    print(f"  check after the drill: {'green' if result['check']['ok'] else 'FAILED'}")
    print("overlaylab: drill passed" if result["ok"] else "overlaylab: drill FAILED")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return EXIT_OK if result["ok"] else EXIT_FAILED


def _compare(args: argparse.Namespace) -> int:
    from overlaylab.api.runs import compare
    from overlaylab.classroom.compare import broadcast_table, holds, plot, table, write_csv
    rows = compare(tuple(args.k), tuple(args.vms), say=lambda line: print(line, flush=True), name=args.name)
    print(table(rows) + broadcast_table(rows), end="")
    write_csv(rows, args.csv)
    plot(rows, args.png)
    print(f"  wrote {args.csv} and {args.png}")
    return EXIT_OK if holds(rows) else EXIT_FAILED


def _demo(args: argparse.Namespace) -> int:
    """Bring up the lecture's lab (or another scenario with two tenants sharing an address on one server, one
    with a peer in its rack, the other with one in another pod) and walk through the lecture's sections, each
    with its evidence from the live lab; pause for Enter between steps (not with --no-pause, nor when stdin
    is not a terminal)."""
    from overlaylab.faces.demo import demo
    cli = not args.no_cli and not (args.no_pause and sys.stdin.isatty())
    return EXIT_OK if demo(args.step, not args.no_pause, cli, args.out, scenario=args.scenario,
                           name=args.name) else EXIT_FAILED


def _bench(args: argparse.Namespace) -> int:
    if args.hosts:
        from overlaylab.measure.clusterbench import bench_cluster
        from overlaylab.runtime.machines import parse_hosts
        return EXIT_OK if bench_cluster(parse_hosts(args.hosts), args.scenario, args.k, sys.stdout,
                                        args.name) else EXIT_FAILED
    if args.scale:
        from overlaylab.measure.scalebench import bench_scale
        return EXIT_OK if bench_scale(sys.stdout, name=args.name) else EXIT_FAILED
    if args.labs is not None:
        from overlaylab.measure.labsbench import bench_labs
        return EXIT_OK if bench_labs(args.labs, args.scenario, args.k, sys.stdout, args.name) else EXIT_FAILED
    if args.web:
        from overlaylab.api.lab import Lab
        from overlaylab.measure.webbench import DEFAULT, bench_web
        source = args.scenario or DEFAULT
        with Lab(source, args.k, command="bench", name=args.name) as lab:
            return EXIT_OK if bench_web(lab.running, lab.live, source.name, sys.stdout) else EXIT_FAILED
    if args.soak is not None:
        from overlaylab.measure.soak import soak
        return EXIT_OK if soak(args.soak, args.scenario, args.k, sys.stdout, args.name) else EXIT_FAILED
    from overlaylab.measure.bench import bench
    return EXIT_OK if bench(args.scenario, args.k, args.repeat, sys.stdout, args.name) else EXIT_FAILED


def _terminate(signum: int, _frame: object) -> None:
    """SIGTERM/SIGHUP end the lab like Ctrl-C does: through its teardown."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    commands = {"up": _up, "check": _check, "clean": _clean, "bench": _bench, "drill": _drill, "compare": _compare,
                "exercise": exercisecli.run, "demo": _demo, "ls": _ls, "down": _down, "cluster": clustercli.run}
    try:
        return commands[args.command](args)
    except (LabError, ScenarioError) as exc:
        print(f"overlaylab: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("\noverlaylab: interrupted; everything the lab built was removed", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
