"""The live page's server: aiohttp on its own thread and event loop, beside the lab. It serves the page,
`/state` (the lab as `view` draws it, JSON) and `/events`, a server-sent event stream that carries the state
again whenever it changes (looked at every POLL seconds), so the page follows the lab without reloading.
Read-only: nothing it serves changes the lab.

Why aiohttp: a maintained asyncio server with server-sent events built from plain responses, no framework,
and it runs on a loop of its own, so the lab's thread never waits on a browser."""
from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from importlib import resources
from typing import Any

from aiohttp import web

from overlaylab.classroom.liveview import view
from overlaylab.errors import LabError
from overlaylab.runtime.running import RunningLab

POLL = 0.2  # seconds between two looks at the lab: a change reaches the page well within 1 s
SHUTDOWN = 0.5  # seconds the open event streams get at stop (they never end by themselves)
STATIC = resources.files("overlaylab.classroom") / "live"  # the page: index.html and view.js
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}


def address(text: str) -> tuple[str, int]:
    """`[ADDR:]PORT` (127.0.0.1 unless told)."""
    host, _, port = text.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise LabError(f"--web {text!r}: give [ADDR:]PORT, e.g. --web 8080 or --web 0.0.0.0:8080")
    return host.strip("[]") or "127.0.0.1", int(port)


class WebView:
    """The page of one lab, served until `stop`."""

    def __init__(self, state: Callable[[], dict[str, Any]], where: str) -> None:
        self.state, (self.host, self.port) = state, address(where)
        self.loop = asyncio.new_event_loop()
        self.runner: web.AppRunner | None = None
        self.streams: set[asyncio.Task[Any]] = set()  # the open event streams: ended at stop
        self.thread = threading.Thread(target=self.loop.run_forever, name="overlaylab-web", daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def start(self) -> str:
        """Serve; the page's address. A port that is taken is refused in one line."""
        self.thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._serve(), self.loop).result(timeout=10)
        except OSError as exc:
            self.stop()
            raise LabError(f"the live view cannot listen on {self.host}:{self.port} ({exc.strerror}): pick another "
                           f"port with --web") from None
        return self.url

    def stop(self) -> None:
        """Stop serving; whatever happens here, the lab's teardown goes on."""
        try:
            if self.runner is not None:
                asyncio.run_coroutine_threadsafe(self._close(self.runner), self.loop).result(timeout=10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            if not self.thread.is_alive():
                self.loop.close()

    async def _close(self, runner: web.AppRunner) -> None:
        for stream in self.streams:
            stream.cancel()
        await asyncio.gather(*self.streams, return_exceptions=True)
        await runner.cleanup()

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._page)
        app.router.add_get("/state", self._state)
        app.router.add_get("/events", self._events)
        app.router.add_get("/static/{name}", self._static)
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN)
        await self.runner.setup()
        await web.TCPSite(self.runner, self.host, self.port).start()

    async def _state(self, _request: web.Request) -> web.Response:
        return web.json_response(self.state())

    async def _page(self, _request: web.Request) -> web.Response:
        return await self._file("index.html")

    async def _static(self, request: web.Request) -> web.Response:
        return await self._file(request.match_info["name"])

    async def _file(self, name: str) -> web.Response:
        page = STATIC / name
        if "/" in name or not page.is_file():
            raise web.HTTPNotFound()
        return web.Response(body=page.read_bytes(), content_type=TYPES.get(name[name.rfind("."):], "text/plain"))

    async def _events(self, request: web.Request) -> web.StreamResponse:
        """The state now, then again each time it changes, until the browser goes."""
        stream = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await stream.prepare(request)
        task = asyncio.current_task()
        assert task is not None
        self.streams.add(task)
        sent = ""
        try:
            while True:
                now = json.dumps(self.state())
                if now != sent:
                    await stream.write(f"data: {now}\n\n".encode())
                    sent = now
                await asyncio.sleep(POLL)
        finally:
            self.streams.discard(task)


class Live:
    """A running lab's live view: its state as the page draws it, and the page, served on demand (`Lab.live`)."""

    def __init__(self, lab: RunningLab) -> None:
        self.lab = lab
        self.served: WebView | None = None

    def state(self) -> dict[str, Any]:
        """The lab now, as the page draws it (nodes, links up or down, VMs on their servers, tenants)."""
        return view(self.lab.scenario, self.lab.nodes.cut)

    def serve(self, where: str = "8080") -> str:
        """Serve the page on `[ADDR:]PORT` (127.0.0.1 unless told), read-only, until the lab goes; its address
        (the same one, if it is served already)."""
        if self.served is None:
            served = WebView(self.state, where)
            served.start()
            self.served = served
        return self.served.url

    def stop(self) -> None:
        if self.served is not None:
            self.served.stop()
            self.served = None
