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
