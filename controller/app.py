"""The controller: a thin Ryu-API app (os-ken's, or Ryu's where Ryu still runs) around the reconciler.

It learns nothing from the network (no LLDP, no packet-in, no flooding): the scenario says what the
fabric is, the compilers say what every table must hold, and controller.reconciler decides what to
send so that each switch holds it. This app only translates: every OpenFlow event and every API request
becomes an event on one queue, handled one at a time by one thread, and what the reconciler returns
becomes OpenFlow messages, API answers and status lines (Faucet's valve / valve_ryuapp split). The
handlers never wait and never decide; nothing that decides holds a lock.
Its configuration comes through os-ken's options (`--overlaylab-scenario`, `-k`, `-mode`, `-ports`,
`-status`, `-api-port`, `-api-secret`), which controller.launcher fills.
"""
from __future__ import annotations

import itertools
import json
import queue
import threading
import time
import traceback
from concurrent.futures import Future
from pathlib import Path
from typing import Any

try:
    from os_ken import cfg
    from os_ken.base import app_manager
    from os_ken.controller import ofp_event
    from os_ken.controller.handler import CONFIG_DISPATCHER, DEAD_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
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
    from ryu.ofproto import ofproto_v1_3, ofproto_v1_5  # type: ignore[no-redef]

from controller import api, ofp
from controller import events as ev
from controller import reconciler as r
from controller.desired import DesiredState
from controller.status import StatusFile
from topologies import scenario
from topologies.scenario import Scenario

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
    cfg.StrOpt("api-secret", default="", help="file holding the secret every API request must carry"),
], group=OPTIONS)


def desired_state(path: str | None, k: int | None, ports: str | None, mode: str = "overlay") -> Scenario:
    """The scenario file (the bundled default when path is None), in `mode`, on the given VM ports if any."""
    lab = scenario.load(path, k, scenario.Mode(mode))
    return scenario.bind(lab, json.loads(Path(ports).read_text())) if ports else lab


TICK = 0.2  # seconds between the reconciler's looks at its deadlines
ANSWER_TIMEOUT = 2 * r.CONFIRM_TIMEOUT + 30  # an API request's wait: both phases of a change, and compiling


class OverlayLabController(BaseApp):  # type: ignore[misc,valid-type]
    # Underlay switches speak 1.5 (for ECMP by 5-tuple hash, see ofp.group_mod), virtual switches 1.3.
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION, ofproto_v1_5.OFP_VERSION]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        conf = getattr(self.CONF, OPTIONS)
        self.decide = r.Reconciler(DesiredState(desired_state(conf.scenario or None, conf.k, conf.ports or None,
                                                              conf.mode)))
        self.inbox: queue.Queue[tuple[ev.Event, Any]] = queue.Queue()  # not `events`: os-ken's own queue
        self.sockets: dict[int, tuple[int, Any]] = {}  # dpid -> (connection, os-ken datapath); the loop's
        self.answers: dict[int, Future[tuple[int, dict[str, Any]]]] = {}  # request -> its answer; the loop's
        self.connections = itertools.count(1)
        self.requests = itertools.count(1)
        self.status = StatusFile(Path(conf.status)) if conf.status else None
        self.logger.info("compiled tables for %d datapaths", len(self.decide.state.tables))
        threading.Thread(target=self._loop, name="reconciler", daemon=True).start()
        if conf.api_port:
            secret = Path(conf.api_secret).read_text().strip() if conf.api_secret else None
            threading.Thread(target=api.serve, args=(self.CONF.ofp_listen_host, conf.api_port, self, secret),
                             name="api", daemon=True).start()
            self.logger.info("REST API on http://%s:%d/scenario", self.CONF.ofp_listen_host, conf.api_port)

    # -- the one loop ------------------------------------------------------------------------------------

    def _loop(self) -> None:
        """Every event, one at a time, then what the reconciler made of it; a tick now and then."""
        ticked = time.monotonic()
        while True:
            try:
                event, dp = self.inbox.get(timeout=TICK)
            except queue.Empty:
                event, dp = ev.Tick(), None
            self._handle(event, dp)
            if time.monotonic() - ticked >= TICK:
                ticked = time.monotonic()
                self._handle(ev.Tick(), None)

    def _handle(self, event: ev.Event, dp: Any) -> None:
        if isinstance(event, ev.Connected):
            self.sockets[event.dpid] = (event.conn, dp)
        elif isinstance(event, ev.Gone) and self.sockets.get(event.dpid, (None,))[0] == event.conn:
            del self.sockets[event.dpid]
        try:
            outputs = self.decide.handle(event, time.monotonic())
        except Exception:  # a bug must not stop the loop: say so, and answer a request that caused it
            self.logger.error("the reconciler failed on %s: %s", event, traceback.format_exc())
            outputs = [ev.Answer(event.request, 500, {"error": "the controller failed on this request; see its "
                                                              "log"})] if isinstance(event, ev.Asked) else []
        for output in outputs:
            self._do(output)

    def _do(self, output: ev.Output) -> None:
        if isinstance(output, ev.Answer):
            self.answers.pop(output.request).set_result((output.code, output.body))
        elif isinstance(output, ev.Log):
            self.logger.info("%s", output.text)
        elif isinstance(output, ev.Synced):
            if self.status:
                self.status.synced(output.dpid, output.changes, output.name)
        elif isinstance(output, ev.Failed):
            self.logger.error("datapath %016x %s", output.dpid, output.text)
            if self.status:
                self.status.error(output.dpid, output.text)
        else:
            self._send(output)

    def _send(self, output: ev.Send | ev.Read) -> None:
        """OpenFlow messages to the connection they were decided for (none if it is gone)."""
        conn, dp = self.sockets.get(output.dpid, (0, None))
        if conn != output.conn or dp is None:
            return
        parser = dp.ofproto_parser
        if isinstance(output, ev.Read):
            of15 = dp.ofproto.OFP_VERSION >= ofp.OF15
            flows = (parser.OFPFlowDescStatsRequest if of15 else parser.OFPFlowStatsRequest)(dp)
            meters = (parser.OFPMeterDescStatsRequest if of15 else parser.OFPMeterConfigStatsRequest)(dp)
            wire = b"".join(ofp.wire(msg, xid) for msg, xid in ((flows, output.flows), (meters, output.meters),
                                                                 (parser.OFPGroupDescStatsRequest(dp), output.groups)))
        else:
            wire = ofp.delta_wire(dp, output.delta) + ofp.wire(parser.OFPBarrierRequest(dp), output.barrier)
        # One write, not one per message: os-ken's send queue holds 16, and each message past that was a
        # handoff to the connection's sending thread (k=8: 26,000 flows to 128 virtual switches, at 5,000 a second).
        dp.send(wire)

    def ask(self, what: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        """An API request, answered by the loop (controller.api's Desired)."""
        request = next(self.requests)
        answer: Future[tuple[int, dict[str, Any]]] = Future()
        self.answers[request] = answer
        self.inbox.put((ev.Asked(request, what, body), None))
        try:
            return answer.result(timeout=ANSWER_TIMEOUT)
        except TimeoutError:
            return 504, {"error": f"the controller did not answer within {ANSWER_TIMEOUT:.0f} s"}

    # -- os-ken's events, translated --------------------------------------------------------------------

    def _put(self, event: ev.Event, dp: Any = None) -> None:
        self.inbox.put((event, dp))

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def on_switch(self, event: Any) -> None:
        """A switch (re)connected: a connection of its own, so that what an older one says is ignored. Its
        DPID is read from the message: os-ken's own handler, which sets `dp.id`, may not have run yet (each
        app has a thread of its own; seen once in a full test run: a DPID of None stopped the controller)."""
        dp = event.msg.datapath
        dp.id = event.msg.datapath_id  # what os-ken's handler sets too
        dp.overlaylab_conn = next(self.connections)
        self._put(ev.Connected(dp.id, dp.overlaylab_conn), dp)

    @set_ev_cls(ofp_event.EventOFPStateChange, DEAD_DISPATCHER)
    def on_gone(self, event: Any) -> None:
        dp = event.datapath
        if dp.id is not None and hasattr(dp, "overlaylab_conn"):
            self._put(ev.Gone(dp.id, dp.overlaylab_conn))

    @set_ev_cls([ofp_event.EventOFPFlowStatsReply, ofp_event.EventOFPFlowDescStatsReply],
                [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    def on_flows(self, event: Any) -> None:
        msg, dp = event.msg, event.msg.datapath
        self._put(ev.Held(dp.id, _conn(dp), msg.xid, flows=tuple(ofp.read_flow(dp, s) for s in msg.body),
                         more=bool(msg.flags & dp.ofproto.OFPMPF_REPLY_MORE)))

    @set_ev_cls(ofp_event.EventOFPGroupDescStatsReply, [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    def on_groups(self, event: Any) -> None:
        msg, dp = event.msg, event.msg.datapath
        self._put(ev.Held(dp.id, _conn(dp), msg.xid, groups=tuple(ofp.read_group(dp, d) for d in msg.body),
                         more=bool(msg.flags & dp.ofproto.OFPMPF_REPLY_MORE)))

    @set_ev_cls([ofp_event.EventOFPMeterConfigStatsReply, ofp_event.EventOFPMeterDescStatsReply],
                [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    def on_meters(self, event: Any) -> None:
        msg, dp = event.msg, event.msg.datapath
        self._put(ev.Held(dp.id, _conn(dp), msg.xid, meters=tuple(ofp.read_meter(m) for m in msg.body),
                         more=bool(msg.flags & dp.ofproto.OFPMPF_REPLY_MORE)))

    @set_ev_cls(ofp_event.EventOFPPortStatus, MAIN_DISPATCHER)
    def on_port_status(self, event: Any) -> None:
        msg = event.msg
        gone = msg.reason == msg.datapath.ofproto.OFPPR_DELETE
        self._put(ev.Ports(msg.datapath.id, _conn(msg.datapath), ((msg.desc.port_no, not gone and _up(msg.datapath,
                                                                                                   msg.desc)),)))

    @set_ev_cls(ofp_event.EventOFPPortDescStatsReply, [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    def on_port_descs(self, event: Any) -> None:
        """What a connecting switch's ports are like (a link may have failed while the controller was away)."""
        dp = event.msg.datapath
        self._put(ev.Ports(dp.id, _conn(dp), tuple((p.port_no, _up(dp, p)) for p in event.msg.body)))

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    def on_barrier(self, event: Any) -> None:
        self._put(ev.Confirmed(event.msg.datapath.id, _conn(event.msg.datapath), event.msg.xid))

    @set_ev_cls(ofp_event.EventOFPErrorMsg, [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    def on_error(self, event: Any) -> None:
        msg = event.msg
        text = f"refused a message: type={msg.type} code={msg.code} data={msg.data[:64].hex()}"
        self._put(ev.Refused(msg.datapath.id, _conn(msg.datapath), text))

    # -- the API's questions (controller.api.Desired) ----------------------------------------------------

    def document(self) -> tuple[int, dict[str, Any]]:
        return self.ask("GET /scenario")

    def connected(self) -> tuple[int, dict[str, Any]]:
        return self.ask("GET /datapaths")

    def underlay_state(self) -> tuple[int, dict[str, Any]]:
        return self.ask("GET /underlay")

    def tables(self) -> tuple[int, dict[str, Any]]:
        return self.ask("GET /tables")

    def change(self, body: Any) -> tuple[int, dict[str, Any]]:
        return self.ask("PUT /scenario", body)


def _conn(dp: Any) -> int:
    """The connection a message came on (0 before the switch said hello: ignored)."""
    return getattr(dp, "overlaylab_conn", 0)


def _up(dp: Any, port: Any) -> bool:
    return not port.state & dp.ofproto.OFPPS_LINK_DOWN and not port.config & dp.ofproto.OFPPC_PORT_DOWN
