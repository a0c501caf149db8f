"""The controller's REST API, on the management network only (in the style of Ryu's ofctl_rest):

  GET /datapaths  the DPIDs of the switches connected now: {"connected": [...]}
  GET /underlay   the links known down, and every repair: {"down": [...], "reroutes": [{down, changes}]}
  GET /scenario   the desired state: {"scenario": <the scenario as YAML would write it>, "ports": {vm: port},
                  "down": [links], "generation": N (changes whenever what the switches should hold does),
                  "datapaths": [the DPIDs that must hold flows], "flows": how many flows they must hold}
  GET /tables     what every datapath should hold: {"generation": N, "tables": [controller.codec's]}
  PUT /scenario   a new desired state, {"scenario": ..., "ports": ...}: validated exactly like a scenario
                  file, compiled, and only the difference pushed, make before break; answers with the
                  changes per layer and per datapath once every switch confirmed them (barriers)

Only the lab's owner may ask: every request carries the lab's secret (`Authorization: Bearer <secret>`,
the secret in a file only the owner reads). Every refusal is one line in {"error": ...}: 400 for a
request or a state the lab refuses, 401 without the secret, 404/405 for what is not here, 409 while
another change runs, 413 for a body too large, 504 when switches did not confirm (the change is then
taken back).
"""
from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any, Protocol
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from topologies.quoting import quote

MAX_BODY = 1 << 20
MAX_DEPTH = 32  # a desired state nests 5 levels deep; JSON deeper than this is not one
REQUEST_TIMEOUT = 10.0  # seconds a client may take to send its request
Answer = tuple[int, dict[str, Any]]


class Desired(Protocol):
    def document(self) -> Answer: ...

    def connected(self) -> Answer: ...

    def underlay_state(self) -> Answer: ...

    def tables(self) -> Answer: ...

    def change(self, body: Any) -> Answer: ...


class Refusal(Exception):
    """A request refused: its code and one line."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def wsgi(desired: Desired, secret: str | None = None) -> Callable[[dict[str, Any], Any], Iterable[bytes]]:
    """The WSGI application answering for `desired` (the controller app); with `secret`, only requests
    that carry it."""
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        try:
            return _answer(start_response, *_route(desired, secret, environ))
        except Refusal as refusal:
            return _answer(start_response, refusal.code, {"error": str(refusal)})
    return app


def _route(desired: Desired, secret: str | None, environ: dict[str, Any]) -> Answer:
    if secret is not None and not _authorized(environ.get("HTTP_AUTHORIZATION", ""), secret):
        raise Refusal(401, "this lab's API answers its owner only: send the lab's secret (in api.secret, in the "
                           "lab's run directory) as `Authorization: Bearer <secret>`")
    method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
    gets = {"/datapaths": desired.connected, "/underlay": desired.underlay_state, "/scenario": desired.document,
            "/tables": desired.tables}
    if path not in gets:
        raise Refusal(404, f"no {quote(path)} here; ask for one of {', '.join(gets)}")
    if method == "GET":
        return gets[path]()
    if (method, path) != ("PUT", "/scenario"):
        raise Refusal(405, f"{quote(method)} {path} is not allowed; use GET {path}"
                           f"{' or PUT' if path == '/scenario' else ''}")
    return desired.change(_body(environ))


def _authorized(header: str, secret: str) -> bool:
    scheme, _, given = header.partition(" ")
    return scheme == "Bearer" and hmac.compare_digest(given.strip().encode(), secret.encode())


def _body(environ: dict[str, Any]) -> Any:
    """The request's JSON body, refused in one line when it is not a sane one."""
    length = environ.get("CONTENT_LENGTH") or ""
    if not length.isascii() or not length.isdigit():
        raise Refusal(400, f"Content-Length {quote(length)} is not a number of bytes; send the JSON body with "
                           f"its length")
    size = int(length)
    if size > MAX_BODY:
        raise Refusal(413, f"{size} bytes is too large for a desired state (at most {MAX_BODY})")
    raw = environ["wsgi.input"].read(size)
    if len(raw) < size:
        raise Refusal(400, f"the body ended after {len(raw)} of its {size} bytes")
    try:
        body = json.loads(raw)
    except RecursionError:
        raise Refusal(400, f"the JSON is nested too deeply (a desired state takes at most {MAX_DEPTH} "
                           f"levels)") from None
    except ValueError as exc:
        raise Refusal(400, f"not JSON: {str(exc)[:100]}") from None
    if _depth(body) > MAX_DEPTH:
        raise Refusal(400, f"the JSON is nested too deeply (a desired state takes at most {MAX_DEPTH} levels)")
    return body


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in a JSON value (without recursion)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            todo += [(child, level + 1) for child in (item.values() if isinstance(item, dict) else item)]
    return deepest


REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
           409: "Conflict", 413: "Payload Too Large", 500: "Internal Server Error", 504: "Gateway Timeout"}


def _answer(start_response: Any, code: int, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    if code == 401:
        headers.append(("WWW-Authenticate", 'Bearer realm="overlaylab"'))
    start_response(f"{code} {REASONS.get(code, '')}", headers)
    return [data]


class _Quiet(WSGIRequestHandler):
    timeout = REQUEST_TIMEOUT  # a client that sends half a request does not hold a thread forever

    def log_message(self, format: str, *args: Any) -> None:
        """The controller's log says what each change did; no access log."""


class _Threaded(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def serve(host: str, port: int, desired: Desired, secret: str | None = None) -> None:
    """Answer API requests on host:port until the process ends (each request in a thread of its own)."""
    make_server(host, port, wsgi(desired, secret), server_class=_Threaded, handler_class=_Quiet).serve_forever()
