"""What users type: the `overlaylab` command's arguments, and the lab CLI's names for VMs and servers."""
import pytest

from controller.overlay import compile_overlay
from controller.underlay import compile_underlay
from overlaylab.api.words import Words
from overlaylab.faces import cli
from overlaylab.faces.cliwords import describe_changes, trace_args, wire_args
from topologies.scenario import load

LECTURE = load()
NODES = {f"vm{i}" for i in range(5)} | {s.name for s in LECTURE.fabric.servers} | {"p0e0", "c0"}
VM_NODES = {vm.label: vm.server.name if vm.bare_metal else f"vm{i}" for i, vm in enumerate(LECTURE.vms)}  # as Lab does
WORDS = Words(LECTURE, VM_NODES, NODES)
COMPILED = {**compile_underlay(LECTURE.fabric), **compile_overlay(LECTURE)}
UNDERLAY = compile_underlay(LECTURE.fabric)


@pytest.mark.parametrize(("typed", "run"), [
    ("pepsi/web ping -c3 pepsi/db", "vm0 ping -c3 192.0.2.3"),
    ("coke/web ping coke/db", f"{VM_NODES['coke/web']} ping 192.0.2.3"),
    ("p0e0h0 ping -c1 p3e1h1", "p0e0h0 ping -c1 10.3.1.3"),
    ("pepsi/legacy ip -br addr", "p2e0h0 ip -br addr"),  # bare metal: the server itself
    ("pingall", "pingall"), ("", ""), ("vms", "vms"),
    ("nosuch/vm ping pepsi/db", "nosuch/vm ping pepsi/db"),  # left for Mininet to refuse
])
def test_vm_and_server_names_become_nodes_and_addresses(typed, run):
    assert WORDS.rewrite(typed) == run


@pytest.mark.parametrize("args", [[], ["pepsi/web"], ["pepsi/web", "192.0.2.99"],
                                  ["nosuch", "p0e0h0"], ["p0e0h0", "not-an-address"], ["a", "b", "c"]])
def test_trace_arguments_that_name_no_pair_get_usage(args):
    assert WORDS.trace(args, COMPILED, UNDERLAY) is None


def test_trace_finds_a_tenant_peer_by_address_inside_its_own_tenant_only():
    pepsi_web = WORDS.vms["pepsi/web"]
    assert WORDS.vm_target(pepsi_web, "192.0.2.3").label == "pepsi/db"  # coke/db has it too
    assert WORDS.vm_target(WORDS.vms["coke/web"], "192.0.2.3").label == "coke/db"
    (path,) = WORDS.trace(["pepsi/web", "192.0.2.3"], COMPILED, UNDERLAY)
    assert path.delivered_to == "pepsi/db"
    paths = WORDS.trace(["p0e0h0", "p3e1h1"], COMPILED, UNDERLAY)
    assert len(paths) == 4 and {p.delivered_to for p in paths} == {"p3e1h1"}
    assert {p.delivered_to for p in WORDS.trace(["p0e0h0", "10.3.1.3"], COMPILED, UNDERLAY)} == {"p3e1h1"}
    (across,) = WORDS.trace(["pepsi/web", "coke/db"], COMPILED, UNDERLAY)  # another tenant: shown dropped
    assert across.delivered_to is None and across.verdict.startswith("dropped at p0e0h0/br-int")


def test_trace_to_broadcast_shows_every_copy_and_no_pair_to_send_to():
    paths = WORDS.trace(["pepsi/web", "broadcast"], COMPILED, UNDERLAY)
    assert {p.delivered_to for p in paths} == {"pepsi/db", "pepsi/legacy"}  # 1 + 4 ECMP ways to the bare metal
    assert {p.delivered_to for p in WORDS.trace(["coke/web", "multicast"], COMPILED, UNDERLAY)} == {"coke/db"}
    assert WORDS.vm_pair(["pepsi/web", "broadcast"]) is None  # predicted only


@pytest.mark.parametrize(("argv", "fields"), [
    (["up"], {"command": "up", "scenario": None, "k": None}),
    (["check", "my.yaml", "--k", "8", "--json", "r.json"], {"command": "check", "k": 8}),
    (["bench", "--repeat", "5"], {"command": "bench", "repeat": 5, "scale": False}),
    (["bench", "--scale"], {"command": "bench", "scale": True}),
    (["clean"], {"command": "clean"}),
    (["check", "--mode", "flat"], {"command": "check", "mode": cli.Mode.FLAT}),
    (["compare", "--k", "4", "--vms", "0", "16"], {"command": "compare", "k": [4], "vms": [0, 16]}),
    (["demo", "--no-pause", "--step", "5"], {"command": "demo", "no_pause": True, "step": 5, "no_cli": False}),
    (["exercise", "check", "03", "--student", "s1", "--dir", "w", "--json", "r.json"],
     {"command": "exercise", "number": "03", "student": "s1", "dir": cli.Path("w"), "json": cli.Path("r.json")}),
    (["exercise", "grade", "w", "--csv", "g.csv"], {"command": "exercise", "action": "grade", "csv": cli.Path("g.csv")}),
])
def test_the_command_line_parses_what_the_readme_documents(argv, fields):
    args = vars(cli._parser().parse_args(argv))
    assert {k: args[k] for k in fields} == fields


@pytest.mark.parametrize(("argv", "complaint"), [
    ([], "the following arguments are required: command"),
    (["check", "--k", "four"], "argument --k: invalid int value: 'four'"),
    (["up", "--json", "r.json"], "unrecognized arguments: --json"),
    (["destroy"], "invalid choice: 'destroy'"),
])
def test_bad_arguments_are_refused_with_usage(argv, complaint, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2 and complaint in capsys.readouterr().err


def test_a_bad_scenario_is_one_line_and_exit_2_before_anything_is_built(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("tenants: {a: {vni: 0}}\n")
    assert cli.main(["check", str(bad)]) == cli.EXIT_ERROR
    err = capsys.readouterr().err
    assert err == f"overlaylab: error: {bad}: tenants.a.vni: 0 is out of range; use a whole number in 1..16777215\n"
    assert cli.main(["up", str(tmp_path / "missing.yaml"), "--k", "3"]) == cli.EXIT_ERROR
    assert "missing.yaml: cannot read it" in capsys.readouterr().err
    assert cli.main(["up", "--web-buttons"]) == cli.EXIT_ERROR  # buttons on a page nobody serves
    assert "serve it too, e.g. --web 8080 --web-buttons" in capsys.readouterr().err


@pytest.mark.parametrize(("typed", "parsed"), [
    ("p0e0-eth1 pepsi/web ping -c2 pepsi/db", ("p0e0-eth1", None, "pepsi/web ping -c2 pepsi/db")),
    ("p0e0-eth1 --pcap /tmp/w.pcap pepsi/web ping -c2 pepsi/db", ("p0e0-eth1", "/tmp/w.pcap", "pepsi/web ping -c2 pepsi/db")),
    ("p0e0-eth1", ("p0e0-eth1", None, "")),
    ("p0e0-eth1 --pcap", ("p0e0-eth1", None, "--pcap")),
])
def test_wire_arguments(typed, parsed):
    assert wire_args(typed) == parsed


@pytest.mark.parametrize(("words", "parsed"), [
    (["pepsi/web", "pepsi/db"], (["pepsi/web", "pepsi/db"], "udp")),
    (["pepsi/web", "pepsi/db", "tcp"], (["pepsi/web", "pepsi/db"], "tcp")),
    (["pepsi/web", "pepsi/db", "sctp"], (["pepsi/web", "pepsi/db", "sctp"], "udp")),  # then refused with usage
])
def test_trace_arguments_with_a_protocol(words, parsed):
    assert trace_args(words) == parsed


def test_a_change_touching_many_virtual_switches_names_the_busiest_and_counts_the_rest():
    many = {f"p{i}e0h0/br-int": 3 for i in range(30)} | {"p0e0h0/br-int": 98, "p7e3h1/br-int": 98}
    line = describe_changes({"changes": {"underlay": 0, "vswitches": 280, "datapaths": many}, "seconds": 0.13})
    assert "p0e0h0/br-int 98" in line and "p7e3h1/br-int 98" in line and "and 25 more with 75 in all" in line
    few = describe_changes({"changes": {"underlay": 7, "vswitches": 0, "datapaths": {"p0a0": 1, "c0": 6}},
                            "seconds": 0.3})
    assert few == "flow changes: underlay 7, virtual switches 0 (c0 6, p0a0 1); confirmed by every switch in 0.30 s"
