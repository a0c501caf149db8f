"""Many raw sockets, in many namespaces, read together: a sniffer in every VM and taps on underlay
links, all in the one process that also sends the probes. Sockets in another machine's namespaces (a lab
over `--hosts`) are held there by that machine's agent (probes.agent), and used here as if they were local."""
from __future__ import annotations

import errno
import selectors
import socket
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from probes.agent import FRAME_OUT
from probes.netns import PACKET_OUTGOING, packet_socket
from probes.remote import AgentLink, Launch

OnFrame = Callable[[str, bytes], None]
Sink = Callable[[bytes], None]


class Capture:
    """Named sockets: `listen` records frames a host receives, `tap` every frame a link carries
    (kept in `frames`, or handed to a sink as it arrives, so a long capture need not be stored). A socket
    on another machine (`machine` given) goes through its agent, started with `launch(machine)`."""

    def __init__(self, launch: Launch | None = None) -> None:
        self.sockets: dict[str, socket.socket] = {}
        self.taps: set[str] = set()
        self.sinks: dict[str, Sink] = {}
        self.frames: dict[str, list[bytes]] = defaultdict(list)
        self.selector = selectors.DefaultSelector()
        self.launch = launch
        self.agents: dict[str, AgentLink] = {}  # by machine
        self.remote: dict[str, AgentLink] = {}  # by socket name
        self.settled = True  # every agent has confirmed every socket asked of it

    @property
    def listeners(self) -> set[str]:
        """The sockets that record what their host receives (every one but the taps)."""
        return (set(self.sockets) | set(self.remote)) - self.taps

    def listen(self, name: str, pid: int, iface: str, machine: str | None = None) -> None:
        self._open(name, pid, iface, machine)

    def tap(self, name: str, pid: int, iface: str, sink: Sink | None = None, machine: str | None = None) -> None:
        self._open(name, pid, iface, machine)
        self.taps.add(name)
        if sink is not None:
            self.sinks[name] = sink

    def _open(self, name: str, pid: int, iface: str, machine: str | None) -> None:
        if machine is not None:
            self.remote[name] = self._agent(machine)
            self.remote[name].open(name, pid, iface)
            self.settled = False
            return
        sock = packet_socket(pid, iface)
        self.sockets[name] = sock
        self.selector.register(sock, selectors.EVENT_READ, name)

    def _agent(self, machine: str) -> AgentLink:
        if machine not in self.agents:
            assert self.launch is not None, f"a socket on {machine} needs a way to start its agent there"
            agent = self.agents[machine] = AgentLink(self.launch(machine))
            self.selector.register(agent.output, selectors.EVENT_READ, agent)
        return self.agents[machine]

    def ready(self) -> None:
        """Every agent's sockets open before anything is sent, or read (on one machine, a listener not yet open
        would miss what another machine's sender sent)."""
        for agent in self.agents.values():
            agent.ready()
        self.settled = True

    def send(self, name: str, frame: bytes) -> None:
        if not self.settled:
            self.ready()
        agent = self.remote.get(name)
        if agent is None:
            self.sockets[name].send(frame)
        else:
            agent.send(name, frame)

    def flush(self) -> None:
        """Hand the agents what was sent to them now, not at the next poll (a stream's probe every 5 ms)."""
        for agent in self.agents.values():
            agent.input.flush()

    def poll(self, timeout: float, on_frame: OnFrame) -> None:
        """Wait up to `timeout` for frames, and take in all that are there."""
        self.ready()
        for key, _ in self.selector.select(timeout=timeout):
            if isinstance(key.data, AgentLink):
                for name, frame, kind in key.data.frames():
                    self._deliver(name, frame, kind == FRAME_OUT, on_frame)
            else:
                self._drain(key.data, on_frame)

    def run(self, done: Callable[[], bool], timeout: float, settle: float,
            on_frame: OnFrame = lambda name, frame: None) -> None:
        """Record frames until `done()` (or `timeout`), then `settle` seconds more: the window in
        which anything that should not arrive would have to show itself."""
        deadline = time.monotonic() + timeout
        quiet_until: float | None = None
        while quiet_until is None or time.monotonic() < quiet_until:
            if quiet_until is None and (done() or time.monotonic() > deadline):
                quiet_until = time.monotonic() + settle
            self.poll(0.02, on_frame)

    def _drain(self, name: str, on_frame: OnFrame) -> None:
        sock = self.sockets[name]
        tap = name in self.taps
        sink = (self.sinks.get(name) or self.frames[name].append) if tap else None
        while True:
            try:
                frame, address = sock.recvfrom(65535)
            except BlockingIOError:
                return
            except OSError as exc:  # a tapped cable taken down (`link A B down`) carries nothing more
                if exc.errno != errno.ENETDOWN:
                    raise
                return
            self._deliver(name, frame, address[2] == PACKET_OUTGOING, on_frame, sink)

    def _deliver(self, name: str, frame: bytes, outgoing: bool, on_frame: OnFrame, sink: Sink | None = None) -> None:
        """A tap keeps every frame (or hands it to its sink); a listener reports what its host received."""
        if name in self.taps:
            (sink or self.sinks.get(name) or self.frames[name].append)(frame)
        elif not outgoing:
            on_frame(name, frame)

    def close(self) -> None:
        """Close every socket, and end the agents. Closing a bound packet socket waits for an RCU grace period
        (about 15 ms), so hundreds are closed side by side rather than one after another."""
        for sock in self.sockets.values():
            self.selector.unregister(sock)
        with ThreadPoolExecutor(max_workers=64) as pool:
            list(pool.map(socket.socket.close, self.sockets.values()))
        for agent in self.agents.values():
            agent.close()
        self.selector.close()
