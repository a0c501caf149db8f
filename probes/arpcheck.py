"""ARP and IPv6 neighbour discovery, asked of every VM's virtual switch: each address of the tenant must
be answered with the right MAC (in a routed tenant each address of the asker's subnet, and its gateway),
and an address the tenant does not have (or on another subnet) must get no answer at all, even when
another tenant owns it. (Bare-metal members have no virtual switch to ask: their neighbours are set up.)"""
from __future__ import annotations

from probes.endpoint import Endpoint
from probes.session import Question
from probes.stamp import stamp_arp_request, stamp_solicit


def questions(endpoints: list[Endpoint]) -> list[Question]:
    """From every VM, a question for every address any VM of the scenario has (but its own), and for
    its own physical server's address: the VM must not see the server it runs on."""
    everywhere = {ep.ip for ep in endpoints if ep.ip}
    asked = []
    for asker in (ep for ep in endpoints if not ep.bare_metal and ep.ip):
        owners = {ep.ip: ep.mac for ep in endpoints if asker.neighbour(ep) and ep.ip}
        if asker.network is not None and asker.gateway_mac:  # a routed tenant: its gateway, and nobody off-subnet
            owners[asker.network.network_address + 1] = asker.gateway_mac
        asked += [Question(asker.label, ip, stamp_arp_request(asker.host, ip), owners.get(ip))
                  for ip in sorted(everywhere | set(owners) | {asker.server_ip}) if ip != asker.ip]
    return asked


def solicitations(endpoints: list[Endpoint]) -> list[Question]:
    """The same over IPv6, from every dual-stack VM: a neighbour solicitation for every IPv6 address any VM
    has (but its own), and in a routed tenant for its subnet's gateway."""
    everywhere = {ep.ip6 for ep in endpoints if ep.ip6}
    asked = []
    for asker in (ep for ep in endpoints if ep.ip6 and not ep.bare_metal):
        owners = {ep.ip6: ep.mac for ep in endpoints if ep.ip6 and asker.neighbour(ep, v6=True)}
        if asker.network6 is not None and asker.gateway_mac:
            owners[asker.network6.network_address + 1] = asker.gateway_mac
        sender = asker.host_of(v6=True)
        asked += [Question(asker.label, ip, stamp_solicit(sender, ip), owners.get(ip))
                  for ip in sorted(everywhere | set(owners)) if ip != asker.ip6]
    return asked
