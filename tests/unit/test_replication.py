"""Broadcast and multicast within a tenant, judged from where each datagram arrived: pure, no network."""
from probes import replication
from probes.packets import token_in
from probes.session import Outcome, Tokens
from probes.verdicts import Status
from tests.unit.test_probes import COKE, DB, ENDPOINTS, WEB, ep
from topologies.encap import Encap

APP = ep("pepsi/app", "pepsi", 5001, Encap.VXLAN, "02:00:13:89:02:04", "192.0.2.4", "10.2.0.2")


def arrived(floods, where):
    """An outcome where each flood (by sender and kind) reached the members named."""
    outcome = Outcome()
    for flood in floods:
        outcome.arrivals[flood.probe.token] |= set(where.get((flood.probe.sender, flood.kind), ()))
    return outcome


def test_every_member_with_a_peer_floods_once_per_kind_to_its_tenant_only():
    floods = replication.floods([*ENDPOINTS, APP], Tokens())
    assert [(f.probe.sender, f.kind) for f in floods] == [
        (m.label, kind) for m in (WEB, DB, APP) for kind in ("broadcast", "multicast")]  # coke/web is alone
    assert all(f.probe.allowed == {"pepsi/web", "pepsi/db", "pepsi/app"} - {f.probe.sender} for f in floods)
    assert all(token_in(f.probe.frame) == f.probe.token for f in floods)


def test_a_flood_must_reach_every_peer_and_nobody_else():
    floods = replication.floods([WEB, DB, APP, COKE], Tokens())
    everyone = {(f.probe.sender, f.kind): f.probe.allowed for f in floods}
    assert replication.check(floods, arrived(floods, everyone)).status is Status.PASS
    short = {**everyone, ("pepsi/web", "broadcast"): {"pepsi/db"}}
    leaky = {**everyone, ("pepsi/db", "multicast"): {"pepsi/web", "pepsi/app", "coke/web"}}
    assert [f.probe.sender for f in replication.unfinished(floods, arrived(floods, short))] == ["pepsi/web"]
    assert replication.unfinished(floods, arrived(floods, leaky)) == []  # a leak is never sent again
    missed = replication.check(floods, arrived(floods, short))
    leaked = replication.check(floods, arrived(floods, leaky))
    assert missed.status is leaked.status is Status.FAIL
    assert "broadcast from pepsi/web: missed pepsi/app" in missed.detail
    assert "multicast from pepsi/db: LEAKED to coke/web" in leaked.detail


def test_a_lab_where_nobody_has_a_peer_has_nothing_to_judge():
    assert replication.check(replication.floods([WEB, COKE], Tokens()), Outcome()).status is Status.NOT_APPLICABLE


def test_every_vms_broadcasts_pass_its_own_meter_and_flat_mode_has_none():
    from controller.overlay import compile_overlay
    from topologies.model import FLOOD_LIMIT
    from topologies.scenario import BUNDLED, Mode, load
    for tables in compile_overlay(load(BUNDLED / "dualstack.yaml")).values():
        metered = {f.meter for f in tables.flows if f.meter is not None}
        assert metered == {m.meter_id for m in tables.meters} and metered  # every meter used, none unknown
        assert {(m.rate, m.burst) for m in tables.meters} == {(FLOOD_LIMIT, FLOOD_LIMIT)}
        assert all(dict(f.match)["eth_dst"].startswith("01:") for f in tables.flows if f.meter is not None)
    assert all(not t.meters for t in compile_overlay(load(BUNDLED / "flat.yaml", mode=Mode.FLAT)).values())


def test_a_storm_passes_when_some_and_no_more_than_the_meter_allows_arrive():
    from probes import floodlimit
    sent = floodlimit.storm([WEB, DB, APP, COKE], Tokens())
    assert sent is not None and len(sent.probes) == floodlimit.STORM and sent.sender == "pepsi/web"
    assert sent.peer == "pepsi/app" and all(token_in(p.frame) == p.token for p in sent.probes)  # first by name

    def reaching(count, who="pepsi/app"):
        outcome = Outcome()
        for probe in sent.probes[:count]:
            outcome.arrivals[probe.token].add(who)
        return outcome
    assert floodlimit.check(sent, reaching(150), 0.6).status is Status.PASS  # within 100 + 100 * 0.6
    assert floodlimit.check(sent, reaching(1000), 0.6).status is Status.FAIL  # no meter: all of them
    assert floodlimit.check(sent, reaching(0), 0.6).status is Status.FAIL  # nothing at all: broken, not bounded
    assert "LEAKED" in floodlimit.check(sent, reaching(5, "coke/web"), 0.6).detail
