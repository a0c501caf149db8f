"""The live page's server: aiohttp on its own thread and event loop, beside the lab. It serves the page,
`/state` (the lab as the page draws it, JSON), `/events` (a server-sent event stream: the state again
whenever it changes, and each cable's rates once a second) and `/act` (what the page asks the lab to do).
One watcher looks at the lab for every open page, so a class of browsers costs what one does.

Why aiohttp: a maintained asyncio server with server-sent events built from plain responses, no framework,
and it runs on a loop of its own, so the lab's thread never waits on a browser."""
from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Any, Protocol

from aiohttp import web

from overlaylab.classroom.liveview import Counters, rates
from overlaylab.errors import LabError
from topologies.scenario import ScenarioError

POLL = 0.2  # seconds between two looks at the lab: a change reaches the page well within 1 s
RATES = 1.0  # seconds between two readings of the port counters
KEEPALIVE = 10.0  # seconds of quiet after which a stream is written a comment, to find pages that went
SHUTDOWN = 0.5  # seconds the open event streams get at stop (they never end by themselves)
STATIC = resources.files("overlaylab.classroom") / "live"  # the page: index.html and view.js
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}


class Shown(Protocol):
    """The lab's side of the page (overlaylab.classroom.livelab.Live)."""

    @property
    def secret(self) -> str: ...
    def state(self) -> dict[str, Any]: ...
    def counters(self) -> Counters: ...
    def act(self, asked: dict[str, Any], with_secret: bool) -> str: ...


def address(text: str) -> tuple[str, int]:
    """`[ADDR:]PORT` (127.0.0.1 unless told; port 0: any free one)."""
    host, _, port = text.rpartition(":")
    if not port.isdigit() or not 0 <= int(port) < 65536:
        raise LabError(f"--web {text!r}: give [ADDR:]PORT, e.g. --web 8080 or --web 0.0.0.0:8080")
    return host.strip("[]") or "127.0.0.1", int(port)


class WebView:
    """The page of one lab, served until `stop`."""

    def __init__(self, lab: Shown, where: str) -> None:
        self.lab, (self.host, self.port) = lab, address(where)
        self.loop = asyncio.new_event_loop()
        self.runner: web.AppRunner | None = None
        self.tasks: set[asyncio.Task[Any]] = set()  # the watcher and the open event streams: ended at stop
        self.thread = threading.Thread(target=self.loop.run_forever, name="overlaylab-web", daemon=True)
        self.acting = ThreadPoolExecutor(1, thread_name_prefix="overlaylab-web-act")  # one change at a time
        self.busy = threading.Lock()
        self.now = {"state": "", "rates": ""}  # the latest of each, as sent
        self.changed: asyncio.Condition | None = None  # set when the state or the rates changed
        self.viewed: asyncio.Event = asyncio.Event()  # set while a page is open
        self.viewers = 0

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
            self.acting.shutdown(wait=False, cancel_futures=True)

    async def _close(self, runner: web.AppRunner) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await runner.cleanup()

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._page)
        app.router.add_get("/state", self._state)
        app.router.add_get("/events", self._events)
        app.router.add_post("/act", self._act)
        app.router.add_get("/static/{name}", self._static)
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN)
        await self.runner.setup()
        self.changed = asyncio.Condition()
        self._keep(self.loop.create_task(self._watch()))
        await web.TCPSite(self.runner, self.host, self.port).start()
        self.port = self.runner.addresses[0][1]  # the port it got, when asked for any

    def _keep(self, task: asyncio.Task[Any]) -> None:
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _watch(self) -> None:
        """Look at the lab every POLL seconds and at its counters every RATES seconds, for every page open
        (and not at all while none is)."""
        assert self.changed is not None
        counted, at = self.lab.counters(), time.monotonic()
        while True:
            await asyncio.sleep(POLL)
            if not self.viewers:
                counted, at = self.lab.counters(), time.monotonic()  # the next page's rates start from now
                await self.viewed.wait()
                continue
            fresh = {"state": json.dumps(self.lab.state())}
            if time.monotonic() - at >= RATES:
                now, then = self.lab.counters(), at
                at = time.monotonic()
                fresh["rates"] = json.dumps(rates(counted, now, at - then))
                counted = now
            if any(self.now[kind] != text for kind, text in fresh.items()):
                self.now.update(fresh)
                async with self.changed:
                    self.changed.notify_all()

    async def _state(self, _request: web.Request) -> web.Response:
        return web.json_response(self.lab.state())

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
        """The state now, then again each time it changes, and the rates as they come, until the browser goes."""
        assert self.changed is not None
        stream = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await stream.prepare(request)
        task = asyncio.current_task()
        assert task is not None
        self._keep(task)
        sent = {"state": json.dumps(self.lab.state()), "rates": ""}
        self.viewers += 1  # counted before its first event, so whoever reads that event sees it counted
        self.viewed.set()
        try:
            await stream.write(f"event: state\ndata: {sent['state']}\n\n".encode())  # the first paint: no wait
            while True:
                for kind, text in self.now.items():
                    if text and text != sent[kind]:
                        await stream.write(f"event: {kind}\ndata: {text}\n\n".encode())
                        sent[kind] = text
                async with self.changed:
                    try:
                        await asyncio.wait_for(self.changed.wait(), KEEPALIVE)
                    except asyncio.TimeoutError:
                        await stream.write(b": still here\n\n")  # a page that went is found out here
        except ConnectionResetError:
            return stream  # the page went
        finally:
            self.viewers -= 1
            if not self.viewers:
                self.viewed.clear()

    async def _act(self, request: web.Request) -> web.Response:
        """Do what the page asks (overlaylab.classroom.livelab.Live.act), one thing at a time."""
        key = request.headers.get("Authorization", "").removeprefix("Bearer ")
        with_secret = bool(key) and secrets.compare_digest(key, self.lab.secret)
        try:
            asked = await request.json()
        except ValueError:
            return web.json_response({"error": "send JSON, e.g. {\"do\": \"trace\", ...}"}, status=400)
        if not self.busy.acquire(blocking=False):
            return web.json_response({"error": "the lab is busy with the page's last request"}, status=409)
        try:
            done = await self.loop.run_in_executor(self.acting, self.lab.act, asked, with_secret)
        except PermissionError as exc:
            return web.json_response({"error": str(exc)}, status=403)
        except (LabError, ScenarioError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        finally:
            self.busy.release()
        return web.json_response({"done": done})
