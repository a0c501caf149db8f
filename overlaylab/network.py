"""The emulated fabric: Mininet switches and servers made from the scenario's fat-tree."""
from __future__ import annotations

from typing import Any

import subprocess

from mininet.net import Mininet
from mininet.node import Host, OVSSwitch, RemoteController

from overlaylab.state import BRIDGE_MARK, LINK_GROUP
from overlaylab.system import die_with_parent
from topologies.fattree import FatTreeTopo
from topologies.scenario import Scenario


class _Orphanless:
    """Node shells die with the lab, so even a SIGKILLed lab takes its namespaces with it."""

    def _popen(self, cmd: list[str], **params: Any) -> Any:
        params.setdefault("preexec_fn", die_with_parent)
        return super()._popen(cmd, **params)  # type: ignore[misc]


class UnderlaySwitch(_Orphanless, OVSSwitch):
    """An underlay switch: userspace OVS, OpenFlow 1.3 only, no forwarding without the controller."""

    def __init__(self, name: str, **params: Any) -> None:
        params.update(datapath="user", protocols="OpenFlow13", failMode="secure", batch=True)
        super().__init__(name, **params)

    def bridgeOpts(self) -> str:
        """Mark the bridge as the lab's, so `overlaylab clean` removes it and nothing else."""
        return super().bridgeOpts() + f" external_ids:{BRIDGE_MARK}=underlay"


class Server(_Orphanless, Host):
    """A physical server. TCP through userspace OVS needs tx checksum offload off (DESIGN.md)."""

    def config(self, **params: Any) -> Any:
        result = super().config(**params)
        self.cmd(f"ethtool -K {self.defaultIntf()} tx off >/dev/null 2>&1")
        return result


class Controller(_Orphanless, RemoteController):
    """Mininet's handle on the lab's os-ken process (named `ctl`: `c0` is a core switch here)."""

    def stop(self, *_args: Any, **_kwargs: Any) -> None:
        """Mininet's RemoteController.stop() leaves its node shell running; end it."""
        self.terminate()


def build_network(scenario: Scenario, controller_port: int) -> Mininet:
    """An unbuilt Mininet for the scenario's fabric; the caller builds and starts it, and must stop it."""
    controller = Controller("ctl", ip="127.0.0.1", port=controller_port)
    return Mininet(topo=FatTreeTopo(scenario.fabric.k), switch=UnderlaySwitch, host=Server,
                   controller=controller, autoSetMacs=False, build=False, waitConnected=False)


def _switch_ports(net: Mininet) -> list[str]:
    return [intf.name for s in net.switches for intf in s.intfList() if intf.name != "lo"]


def tag_links(net: Mininet) -> None:
    """Put every switch port into the lab's interface group, so one call can delete them all."""
    _ip_batch("".join(f"link set dev {name} group {LINK_GROUP}\n" for name in _switch_ports(net)))


def _ip_batch(commands: str) -> None:
    subprocess.run(["ip", "-force", "-batch", "-"], input=commands, text=True, capture_output=True, check=False)


def delete_tagged_links() -> int:
    """One `ip link delete group`: the kernel tears the veth pairs down together (0.07 s for 270 ports,
    where one `ip link del` each, as Mininet's stop() does, takes 3 s). Returns how many there were."""
    group = ["group", str(LINK_GROUP)]
    listed = subprocess.run(["ip", "-o", "link", "show", *group], capture_output=True, text=True, check=False)
    count = len(listed.stdout.splitlines())
    if count:
        subprocess.run(["ip", "link", "delete", *group], capture_output=True, check=False)
    return count


def stop_network(net: Mininet) -> None:
    """Stop faster than Mininet's stop(): veths in one batch, bridges in one ovs-vsctl, then the shells."""
    delete_tagged_links()
    bridges = [arg for s in net.switches for arg in ("--", "--if-exists", "del-br", s.name)]
    if bridges:
        subprocess.run(["ovs-vsctl", "--timeout=60", *bridges], capture_output=True, check=False)
    for node in net.values():
        node.terminate()
