"""The controller: a thin Ryu-API app that pushes compiled tables to each switch that connects.

It learns nothing from the network (no LLDP, no packet-in, no flooding): the scenario says what the
fabric is, the compilers say what every table must hold, and this app makes each switch hold it. When
a switch (re)connects it reads what the switch holds (flow and group descriptions) and sends only the
difference, so a restarted controller facing an unchanged network sends no flow-mod at all.
Its scenario comes through os-ken's configuration (`--overlaylab-scenario`, `--overlaylab-k`,
`--overlaylab-status`), which controller.launcher fills. Runs on os-ken, or on Ryu where it still runs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    from os_ken import cfg
    from os_ken.base import app_manager
    from os_ken.controller import ofp_event
    from os_ken.controller.handler import CONFIG_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
    from os_ken.lib import hub
    from os_ken.ofproto import ofproto_v1_3, ofproto_v1_5
except ImportError:  # pragma: no cover - plain Ryu
    from ryu import cfg  # type: ignore[no-redef]
    from ryu.base import app_manager  # type: ignore[no-redef]
    from ryu.controller import ofp_event  # type: ignore[no-redef]
    from ryu.controller.handler import CONFIG_DISPATCHER, MAIN_DISPATCHER, set_ev_cls  # type: ignore[no-redef]
    from ryu.lib import hub  # type: ignore[no-redef]
    from ryu.ofproto import ofproto_v1_3, ofproto_v1_5  # type: ignore[no-redef]

from controller import ofp
from controller.flows import Flow, SelectGroup, Tables, diff
from controller.overlay import compile_overlay
from controller.status import StatusFile
from controller.underlay import compile_underlay
from topologies import scenario

BaseApp = getattr(app_manager, "OSKenApp", None) or app_manager.RyuApp
OPTIONS = "overlaylab"  # the option group: --overlaylab-scenario and so on
cfg.CONF.register_cli_opts([
    cfg.StrOpt("scenario", default="", help="scenario file (default: the bundled lecture.yaml)"),
    cfg.IntOpt("k", help="fat-tree k, overriding the scenario's"),
    cfg.StrOpt("status", default="", help="file to report synced datapaths and refused messages in"),
], group=OPTIONS)


def desired_tables(path: str | None, k: int | None) -> dict[int, Tables]:
    """Compile a scenario file (the bundled default when path is None) into tables by DPID."""
    lab = scenario.load(path, k)
    compiled = {**compile_underlay(lab.fabric), **compile_overlay(lab)}
    return {t.dpid: t for t in compiled.values()}


@dataclass
class Reading:
    """What a connecting switch reports, gathered over multipart replies until none is pending."""

    tables: Tables
    pending: set[int]
    flows: list[Flow] = field(default_factory=list)
    groups: list[SelectGroup] = field(default_factory=list)

    def held(self) -> Tables:
        return Tables(self.tables.name, self.tables.dpid, tuple(self.flows), tuple(self.groups))


class OverlayLabController(BaseApp):  # type: ignore[misc,valid-type]
    # Underlay switches speak 1.5 (for ECMP by 5-tuple hash, see ofp.group_mod), virtual switches 1.3.
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION, ofproto_v1_5.OFP_VERSION]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        conf = getattr(self.CONF, OPTIONS)
        self.desired = desired_tables(conf.scenario or None, conf.k)
        self.installed: dict[int, Tables] = {}
        self.readings: dict[int, Reading] = {}
        self.barriers: dict[int, tuple[int, int]] = {}  # dpid -> (xid of the barrier after its push, changes)
        self.status = StatusFile(Path(conf.status)) if conf.status else None
        self.logger.info("compiled tables for %d datapaths", len(self.desired))

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def on_switch(self, ev: Any) -> None:
        """A switch (re)connected: ask what it holds, in a green thread of its own. The app's event queue
        is 128 deep and every connection's reader waits while it is full: sending here, with 200
        switches connecting, left readers stalled, echo requests unanswered and switches disconnecting."""
        dp = ev.msg.datapath
        tables = self.desired.get(dp.id)
        if tables is None:
            self.logger.warning("datapath %016x is not in the scenario: left alone", dp.id)
            return
        hub.spawn(self.read, dp, tables)

    def read(self, dp: Any, tables: Tables) -> None:
        """Request every flow (1.5 calls it a flow description) and every group description; the replies
        complete a Reading."""
        parser = dp.ofproto_parser
        flows = parser.OFPFlowDescStatsRequest if dp.ofproto.OFP_VERSION >= ofp.OF15 else parser.OFPFlowStatsRequest
        requests = [flows(dp), parser.OFPGroupDescStatsRequest(dp)]
        for request in requests:
            dp.set_xid(request)
        self.installed.pop(dp.id, None)
        self.readings[dp.id] = Reading(tables, {r.xid for r in requests})
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
        if not reading.pending:
            del self.readings[dp.id]
            self.installed[dp.id] = reading.held()
            self.push(dp, reading.tables)

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
        """Everything pushed before the barrier is in place: tell the lab."""
        dp = ev.msg.datapath
        xid, changes = self.barriers.get(dp.id, (None, 0))
        if self.status and xid == ev.msg.xid:
            self.status.synced(dp.id, changes, self.desired[dp.id].name)

    @set_ev_cls(ofp_event.EventOFPErrorMsg, [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    def on_error(self, ev: Any) -> None:
        msg = ev.msg
        text = f"refused a message: type={msg.type} code={msg.code} data={msg.data[:64].hex()}"
        self.logger.error("datapath %016x %s", msg.datapath.id, text)
        if self.status:
            self.status.error(msg.datapath.id, text)
