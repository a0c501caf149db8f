"""The controller's REST API, on the management network only (in the style of Ryu's ofctl_rest):

  GET /datapaths  the DPIDs of the switches connected now: {"connected": [...]}
  GET /underlay   the links known down, and every repair: {"down": [...], "reroutes": [{down, changes}]}
  GET /scenario   the desired state: {"scenario": <the scenario as YAML would write it>, "ports": {vm: port}}
  PUT /scenario   a new desired state, same shape: validated exactly like a scenario file, compiled,
                  and only the difference pushed, make before break; answers with the changes per
                  layer and per datapath once every switch confirmed them (barriers)

Errors are one line in {"error": ...}: 400 for a state the lab refuses, 409 while another change runs.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any, Protocol
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

MAX_BODY = 1 << 20


class Desired(Protocol):
    def document(self) -> dict[str, Any]: ...

    def connected(self) -> list[int]: ...

    def underlay_state(self) -> dict[str, Any]: ...

    def change(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]: ...


def wsgi(desired: Desired) -> Callable[[dict[str, Any], Any], Iterable[bytes]]:
    """The WSGI application answering for `desired` (the controller app)."""
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
        if (method, path) == ("GET", "/datapaths"):
            return _answer(start_response, 200, {"connected": desired.connected()})
        if (method, path) == ("GET", "/underlay"):
            return _answer(start_response, 200, desired.underlay_state())
        if path != "/scenario" or method not in ("GET", "PUT"):
            return _answer(start_response, 404, {"error": f"no {method} {path}; use GET or PUT /scenario"})
        if method == "GET":
            return _answer(start_response, 200, desired.document())
        size = int(environ.get("CONTENT_LENGTH") or 0)
        if size > MAX_BODY:
            return _answer(start_response, 413, {"error": f"{size} bytes is too large for a desired state"})
        try:
            body = json.loads(environ["wsgi.input"].read(size) or b"null")
        except ValueError as exc:
            return _answer(start_response, 400, {"error": f"not JSON: {exc}"})
        if not isinstance(body, dict) or not isinstance(body.get("scenario"), dict):
            return _answer(start_response, 400, {"error": 'expected {"scenario": {...}, "ports": {...}}'})
        return _answer(start_response, *desired.change(body))
    return app


REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 409: "Conflict", 413: "Payload Too Large",
           504: "Gateway Timeout"}


def _answer(start_response: Any, code: int, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(f"{code} {REASONS.get(code, '')}", [("Content-Type", "application/json"),
                                                        ("Content-Length", str(len(data)))])
    return [data]


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """The controller's log says what each change did; no access log."""


class _Threaded(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def serve(host: str, port: int, desired: Desired) -> None:
    """Answer API requests on host:port until the process ends (each request in a thread of its own)."""
    make_server(host, port, wsgi(desired), server_class=_Threaded, handler_class=_Quiet).serve_forever()

