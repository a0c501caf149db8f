"""The controller: a thin Ryu-API app that pushes compiled tables to each switch that connects.

It learns nothing from the network (no LLDP, no packet-in, no flooding): the scenario says what the
fabric is, the compilers say what every table must hold, and this app makes each switch hold it. When
a switch (re)connects it reads what the switch holds (flow and group descriptions) and sends only the
difference, so a restarted controller facing an unchanged network sends no flow-mod at all.
The desired state is live: a new one arrives through the REST API (controller.api), is validated like
a scenario file, compiled, and only the difference is pushed, make before break (controller.planner).
Its configuration comes through os-ken's options (`--overlaylab-scenario`, `-k`, `-mode`, `-ports`,
`-status`, `-api-port`), which controller.launcher fills. Runs on os-ken, or on Ryu where it still runs.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

try:
    from os_ken import cfg
    from os_ken.base import app_manager
    from os_ken.controller import ofp_event
    from os_ken.controller.handler import CONFIG_DISPATCHER, DEAD_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
    from os_ken.lib import hub
    from os_ken.ofproto import ofproto_v1_3, ofproto_v1_5
except ImportError:  # pragma: no cover - plain Ryu
    from ryu import cfg  # type: ignore[no-redef]
    from ryu.base import app_manager  # type: ignore[no-redef]
    from ryu.controller import ofp_event  # type: ignore[no-redef]
    from ryu.controller.handler import (  # type: ignore[no-redef]
        CONFIG_DISPATCHER,
        DEAD_DISPATCHER,
        MAIN_DISPATCHER,
        set_ev_cls,
    )
    from ryu.lib import hub  # type: ignore[no-redef]
    from ryu.ofproto import ofproto_v1_3, ofproto_v1_5  # type: ignore[no-redef]

from controller import api, ofp
from controller.desired import DesiredState
from controller.flows import Flow, SelectGroup, Tables, applied, diff
from controller.planner import BREAK, MAKE, Step, plan, summary
from controller.status import StatusFile
from topologies import scenario
from topologies.scenario import Scenario, ScenarioError

BaseApp = getattr(app_manager, "OSKenApp", None) or app_manager.RyuApp
OPTIONS = "overlaylab"  # the option group: --overlaylab-scenario and so on
cfg.CONF.register_cli_opts([
    cfg.StrOpt("scenario", default="", help="scenario file (default: the bundled lecture.yaml)"),
    cfg.IntOpt("k", help="fat-tree k, overriding the scenario's"),
    cfg.StrOpt("mode", default="overlay", help="overlay (VMs encapsulated between servers) or flat (the "
                                               "underlay routes VM addresses)"),
    cfg.StrOpt("ports", default="", help="JSON file of the VMs' br-int ports (a running lab's; default: "
                                          "scenario order)"),
    cfg.StrOpt("status", default="", help="file to report synced datapaths and refused messages in"),
    cfg.IntOpt("api-port", default=0, help="port of the REST API on the OpenFlow listen address (0: none)"),
], group=OPTIONS)
CONFIRM_TIMEOUT = 10.0  # seconds for every switch to confirm one phase of a change
START_WAIT = 10.0  # seconds an underlay switch's tables wait for every underlay switch to report its ports


def desired_state(path: str | None, k: int | None, ports: str | None, mode: str = "overlay") -> Scenario:
    """The scenario file (the bundled default when path is None), in `mode`, on the given VM ports if any."""
    lab = scenario.load(path, k, scenario.Mode(mode))
    return scenario.bind(lab, json.loads(Path(ports).read_text())) if ports else lab




@dataclass
class Reading:
    """What a connecting switch reports, gathered over multipart replies until none is pending."""

    dpid: int
    pending: set[int]
    flows: list[Flow] = field(default_factory=list)
    groups: list[SelectGroup] = field(default_factory=list)

    def held(self, name: str) -> Tables:
        return Tables(name, self.dpid, tuple(self.flows), tuple(self.groups))


class OverlayLabController(BaseApp):  # type: ignore[misc,valid-type]
    # Underlay switches speak 1.5 (for ECMP by 5-tuple hash, see ofp.group_mod), virtual switches 1.3.
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION, ofproto_v1_5.OFP_VERSION]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        conf = getattr(self.CONF, OPTIONS)
        self.state = DesiredState(desired_state(conf.scenario or None, conf.k, conf.ports or None, conf.mode))
        self.reroutes: list[dict[str, Any]] = []  # every global repair: the links down, the changes pushed
        self.datapaths: dict[int, Any] = {}
        # os-ken runs its hub on native threads: the API's requests are threads of their own, and wait on
        # threading events that the barrier handler sets
        self.confirming: dict[int, threading.Event] = {}  # barrier xid -> set when its reply is in
        self.changing = threading.Lock()
        self.installed: dict[int, Tables] = {}
        self.readings: dict[int, Reading] = {}
        self.barriers: dict[int, tuple[int, int]] = {}  # dpid -> (xid of the barrier after its push, changes)
        # Start-up: an underlay switch's tables depend on links anywhere (a core that lost a pod), so they
        # are pushed once every underlay switch has reported its ports (or START_WAIT is over): a
        # restarted controller must not undo a repair before it has heard of the failure again.
        self.ports_known: set[int] = set()
        self.held_back: dict[int, Any] = {}
        self.started = False
        # Handlers, the start and repairs run on threads of their own. Under this lock: holding a switch
        # back, the start taking every switch held back (one held back just after was never pushed: seen
        # once at k=8), and the links known down changing or being compiled (a link that came up while
        # the start compiled was neither compiled nor repaired: seen once in the drill).
        self.starting = threading.Lock()
        self.status = StatusFile(Path(conf.status)) if conf.status else None
        self.logger.info("compiled tables for %d datapaths", len(self.state.tables))
        if conf.api_port:
            hub.spawn(api.serve, self.CONF.ofp_listen_host, conf.api_port, self)
            self.logger.info("REST API on http://%s:%d/scenario", self.CONF.ofp_listen_host, conf.api_port)

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def on_switch(self, ev: Any) -> None:
        """A switch (re)connected: ask what it holds, in a green thread of its own. The app's event queue
        is 128 deep and every connection's reader waits while it is full: sending here, with 200
        switches connecting, left readers stalled, echo requests unanswered and switches disconnecting.
        A switch the desired state does not (yet) name is read too, so a change that names it later
        knows what it holds."""
        dp = ev.msg.datapath
        self.datapaths[dp.id] = dp
        if dp.id not in self.state.tables:
            self.logger.info("datapath %016x is not in the desired state: left as it is", dp.id)
        hub.spawn(self.read, dp)

    @set_ev_cls(ofp_event.EventOFPStateChange, DEAD_DISPATCHER)
    def on_gone(self, ev: Any) -> None:
        dpid = ev.datapath.id
        if dpid in self.datapaths and self.datapaths[dpid] is ev.datapath:  # not a newer connection's
            del self.datapaths[dpid]
            self.installed.pop(dpid, None)

    def read(self, dp: Any) -> None:
        """Request every flow (1.5 calls it a flow description) and every group description; the replies
        complete a Reading."""
        parser = dp.ofproto_parser
        flows = parser.OFPFlowDescStatsRequest if dp.ofproto.OFP_VERSION >= ofp.OF15 else parser.OFPFlowStatsRequest
        requests = [flows(dp), parser.OFPGroupDescStatsRequest(dp)]
        for request in requests:
            dp.set_xid(request)
        self.installed.pop(dp.id, None)
        self.readings[dp.id] = Reading(dp.id, {r.xid for r in requests})
        for request in requests:
            dp.send_msg(request)

    @set_ev_cls([ofp_event.EventOFPFlowStatsReply, ofp_event.EventOFPFlowDescStatsReply],
                [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    def on_flows(self, ev: Any) -> None:
        self._reply(ev, lambda r, dp, body: r.flows.extend(ofp.read_flow(dp, s) for s in body))

    @set_ev_cls(ofp_event.EventOFPGroupDescStatsReply, [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    def on_groups(self, ev: Any) -> None:
        self._reply(ev, lambda r, dp, body: r.groups.extend(ofp.read_group(dp, d) for d in body))

    def _reply(self, ev: Any, take: Any) -> None:
        """One part of a multipart reply; when the last part of the last request is in, reconcile."""
        msg, dp = ev.msg, ev.msg.datapath
        reading = self.readings.get(dp.id)
        if reading is None or msg.xid not in reading.pending:
            return
        take(reading, dp, msg.body)
        if not msg.flags & dp.ofproto.OFPMPF_REPLY_MORE:
            reading.pending.discard(msg.xid)
        if reading.pending:
            return
        del self.readings[dp.id]
        tables = self.state.tables.get(dp.id)
        self.installed[dp.id] = reading.held(tables.name if tables else f"{dp.id:016x}")
        with self.starting:
            held = dp.id in self.state.switch_names and not self.started
            if held:
                self.held_back[dp.id] = dp
                first = len(self.held_back) == 1
        if held:
            if first:
                hub.spawn_after(START_WAIT, self._start)
            self._start_if_ready()
        elif tables is not None:
            self.push(dp, self.state.tables[dp.id])

    def _start_if_ready(self) -> None:
        """Start once every underlay switch has told its ports (in a thread of its own: the start waits
        for any change under way, and a handler must never wait)."""
        if self.ports_known >= set(self.state.switch_names):
            hub.spawn(self._start)

    def _start(self) -> None:
        """Every underlay switch has told its ports (or the wait is over): compile the underlay with the
        links known down and push every switch held back."""
        with self.changing, self.starting:
            if self.started:
                return
            self.state.reroute()  # before `started`: a switch pushed from then on gets the repaired tables
            self.started = True
            held, self.held_back = self.held_back, {}
        for dpid, dp in held.items():
            self.push(dp, self.state.tables[dpid])

    def push(self, dp: Any, tables: Tables) -> None:
        """Send only what differs from what this datapath holds, then a barrier."""
        delta = diff(self.installed.get(dp.id), tables)
        messages = ofp.delta_messages(dp, delta)
        for msg in messages:
            dp.send_msg(msg)
        barrier = dp.ofproto_parser.OFPBarrierRequest(dp)
        dp.send_msg(barrier)
        self.barriers[dp.id] = (barrier.xid, len(messages))
        self.installed[dp.id] = tables
        self.logger.info("%s (dpid %016x): +%d -%d flows, %d group changes", tables.name, dp.id,
                         len(delta.add_flows), len(delta.remove_flows),
                         len(delta.add_groups) + len(delta.modify_groups) + len(delta.remove_groups))

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    def on_barrier(self, ev: Any) -> None:
        """Everything sent before the barrier is in place: tell the lab, or the change waiting for it."""
        dp, xid = ev.msg.datapath, ev.msg.xid
        if xid in self.confirming:
            self.confirming.pop(xid).set()
        synced, changes = self.barriers.get(dp.id, (None, 0))
        if self.status and synced == xid and dp.id in self.state.tables:
            self.status.synced(dp.id, changes, self.state.tables[dp.id].name)

    def document(self) -> dict[str, Any]:
        return self.state.document()

    def underlay_state(self) -> dict[str, Any]:
        """The links the controller knows are down, and every repair it made."""
        return {"down": self.state.failed(), "reroutes": self.reroutes}

    def connected(self) -> list[int]:
        """The switches connected and read (so a change reaches them)."""
        return sorted(d for d in self.datapaths if d in self.installed)

    def change(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """A new desired state from the API: validate, compile, push the difference make before break."""
        if not self.changing.acquire(blocking=False):
            return 409, {"error": "another change is being applied; try again when it is done"}
        try:
            try:
                new = self.state.validated(body)
            except ScenarioError as exc:
                return 400, {"error": str(exc)}
            return self._apply(new)
        finally:
            self.changing.release()

    def _apply(self, new: Scenario) -> tuple[int, dict[str, Any]]:
        start = time.monotonic()
        steps, unconfirmed = self._realise(self.state.change(new))
        self.logger.info("applied a change: %s", summary(steps))
        answer = {"changes": summary(steps), "ports": scenario.ports_of(new),
                  "seconds": round(time.monotonic() - start, 3)}
        if unconfirmed:
            return 504, {**answer, "error": f"{len(unconfirmed)} switches did not confirm the change within "
                                            f"{CONFIRM_TIMEOUT:.0f} s: {', '.join(unconfirmed[:5])}"}
        return 200, answer

    def _realise(self, dpids: set[int]) -> tuple[list[Step], list[str]]:
        """Push what the desired state changed on the connected datapaths among `dpids`, make before
        break; the steps, and the datapaths that did not confirm. (A switch that connects later is
        reconciled with the new state when it does.)"""
        tables = self.state.tables
        here = {d: replace(t, name=tables[d].name) if d in tables else t  # a switch read before it was named
                for d, t in self.installed.items() if d in self.datapaths and d in dpids}
        steps = plan(here, {d: t for d, t in tables.items() if d in here})
        return steps, [name for phase in (MAKE, BREAK) for name in self._run([s for s in steps if s.phase == phase])]

    @set_ev_cls(ofp_event.EventOFPPortStatus, MAIN_DISPATCHER)
    def on_port_status(self, ev: Any) -> None:
        msg = ev.msg
        self._links(msg.datapath, [msg.desc], gone=msg.reason == msg.datapath.ofproto.OFPPR_DELETE)

    @set_ev_cls(ofp_event.EventOFPPortDescStatsReply, [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    def on_port_descs(self, ev: Any) -> None:
        """What a connecting switch's ports are like (a link may have failed while the controller was away)."""
        self._links(ev.msg.datapath, ev.msg.body)

    def _links(self, dp: Any, ports: list[Any], gone: bool = False) -> None:
        """An underlay switch's ports went up or down: when that changes a link between two switches,
        recompute the underlay and push the difference (global repair; the groups' watched ports
        already repaired locally what they could)."""
        name, ofp_ = self.state.switch_names.get(dp.id), dp.ofproto
        if name is None:
            return  # a server's virtual switch
        with self.starting:  # a link that changes while the start compiles is seen by the start or rerouted
            changed = [self.state.port(name, port.port_no, not gone and not port.state & ofp_.OFPPS_LINK_DOWN
                                       and not port.config & ofp_.OFPPC_PORT_DOWN) for port in ports]
            self.ports_known.add(dp.id)
            started = self.started
        if not started:
            self._start_if_ready()  # the start compiles whatever is down by then
        elif any(changed):
            hub.spawn(self._reroute)

    def _reroute(self) -> None:
        with self.changing:
            with self.starting:
                dpids, failed = self.state.reroute(), self.state.failed()
            steps, _ = self._realise(dpids)
            self.reroutes.append({"down": failed, "changes": summary(steps)})
        self.logger.info("links down: %s; rerouted: %s", ", ".join(failed) or "none", summary(steps))

    def _run(self, steps: list[Step]) -> list[str]:
        """Send one phase's steps and wait for every switch's barrier reply; the ones that did not confirm."""
        waiting = []
        for step in steps:
            dp = self.datapaths.get(step.dpid)
            if dp is None:
                continue  # gone: reconciled when it is back
            for msg in ofp.delta_messages(dp, step.delta):
                dp.send_msg(msg)
            barrier = dp.ofproto_parser.OFPBarrierRequest(dp)
            dp.set_xid(barrier)
            self.confirming[barrier.xid] = confirmed = threading.Event()
            dp.send_msg(barrier)
            self.installed[step.dpid] = replace(applied(self.installed[step.dpid], step.delta), name=step.datapath)
            waiting.append((step.datapath, confirmed))
        deadline = time.monotonic() + CONFIRM_TIMEOUT
        return [name for name, confirmed in waiting if not confirmed.wait(max(0.0, deadline - time.monotonic()))]

    @set_ev_cls(ofp_event.EventOFPErrorMsg, [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    def on_error(self, ev: Any) -> None:
        msg = ev.msg
        text = f"refused a message: type={msg.type} code={msg.code} data={msg.data[:64].hex()}"
        self.logger.error("datapath %016x %s", msg.datapath.id, text)
        if self.status:
            self.status.error(msg.datapath.id, text)
