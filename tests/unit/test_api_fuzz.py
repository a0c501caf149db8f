"""The REST API, fed whatever a client may send: every answer is one of its codes with one clean JSON line,
never a 500 and never a traceback. The requests reach a real reconciler on a fake fabric, so a body that
passes the WSGI layer is validated, compiled and pushed as on a running lab."""
from __future__ import annotations

import json
from io import BytesIO
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.api import MAX_BODY, wsgi
from tests.unit.fakefabric import FakeFabric
from topologies.scenario import document, load, ports_of

SECRET = "s3cret"
LECTURE = load()
CODES = {200, 400, 401, 404, 405, 409, 413, 504}


class FabricDesired:
    """What the WSGI app asks, answered by a fake fabric's reconciler once everything has settled."""

    def __init__(self, fabric: FakeFabric) -> None:
        self.fabric = fabric

    def _ask(self, what: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        request = self.fabric.ask(what, body)
        self.fabric.settle()
        return self.fabric.answers.pop(request)

    def document(self) -> tuple[int, dict[str, Any]]:
        return self._ask("GET /scenario")

    def connected(self) -> tuple[int, dict[str, Any]]:
        return self._ask("GET /datapaths")

    def underlay_state(self) -> tuple[int, dict[str, Any]]:
        return self._ask("GET /underlay")

    def tables(self) -> tuple[int, dict[str, Any]]:
        return self._ask("GET /tables")

    def change(self, body: Any) -> tuple[int, dict[str, Any]]:
        return self._ask("PUT /scenario", body)


@pytest.fixture(scope="module")
def app():
    fabric = FakeFabric(LECTURE)
    fabric.connect_all()
    fabric.settle()
    return wsgi(FabricDesired(fabric), SECRET)


def call(app, method: str, path: str, body: bytes = b"", length: str | None = None,
         auth: str | None = f"Bearer {SECRET}") -> tuple[int, dict[str, Any]]:
    environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path, "wsgi.input": BytesIO(body),
                               "CONTENT_LENGTH": str(len(body)) if length is None else length}
    if auth is not None:
        environ["HTTP_AUTHORIZATION"] = auth
    setup_testing_defaults(environ)
    status: list[str] = []
    data = b"".join(app(environ, lambda s, headers: status.append(s)))
    return int(status[0].split()[0]), json.loads(data)


def assert_clean(code: int, answer: dict[str, Any]) -> None:
    assert code in CODES, (code, answer)
    if code != 200:
        error = answer["error"]
        assert isinstance(error, str) and error.isprintable() and len(error) <= 600, error


GOOD = {"scenario": document(LECTURE), "ports": ports_of(LECTURE)}
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.floats(allow_nan=False), st.text(max_size=12),
              st.sampled_from(["p0e0h0", "p9e9h9", "vxlan", "192.0.2.9/24", "pepsi/web", "kernel", "02:00:0a:00:00:02"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.one_of(st.sampled_from(
        ["scenario", "ports", "tenants", "fabric", "k", "vni", "vms", "ip", "server", "mac", "pepsi", "web"]),
        st.text(max_size=6)), inner, max_size=3)), max_leaves=12)


def replaced(doc: Any, where: list[int], value: Any) -> Any:
    """`doc` with the value at a path (chosen by the indices in `where`) replaced."""
    if not where or not isinstance(doc, (dict, list)) or not doc:
        return value
    keys = list(doc) if isinstance(doc, dict) else list(range(len(doc)))
    key = keys[where[0] % len(keys)]
    copy = dict(doc) if isinstance(doc, dict) else list(doc)
    copy[key] = replaced(doc[key], where[1:], value)
    return copy


FUZZ = settings(max_examples=200, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@FUZZ
@given(st.sampled_from([GOOD, {"scenario": GOOD["scenario"]}]), st.lists(st.integers(0, 50), min_size=2, max_size=7),
       json_values)
def test_a_changed_desired_state_is_taken_or_refused_in_one_line(app, base, where, value):
    code, answer = call(app, "PUT", "/scenario", json.dumps(replaced(base, where, value)).encode())
    assert_clean(code, answer)
    call(app, "PUT", "/scenario", json.dumps(GOOD).encode())  # back, for the next example


@FUZZ
@given(st.sampled_from(["GET", "PUT", "POST", "DELETE", "", "get", "\x00", "PUT\r\n"]),
       st.one_of(st.sampled_from(["/scenario", "/tables", "/datapaths", "/underlay", "/", "//scenario"]),
                 st.text(max_size=20)),
       st.one_of(st.binary(max_size=60), st.sampled_from([b"[" * 100_000, b"{}", b"null", b'{"scenario": {}}'])),
       st.one_of(st.none(), st.sampled_from(["abc", "-1", "", " 5", "1e3", "99999999999999999999", "²",
                                             str(MAX_BODY + 1), "0"])),
       st.one_of(st.just(f"Bearer {SECRET}"), st.none(), st.text(max_size=20), st.just(f"Bearer {SECRET}x")))
def test_any_request_gets_one_of_the_apis_answers(app, method, path, body, length, auth):
    assert_clean(*call(app, method, path, body, length, auth))


def test_an_empty_desired_state_is_refused_unless_it_says_so(app):
    code, answer = call(app, "PUT", "/scenario", b'{"scenario": {}}')
    assert code == 400 and "tenants: missing" in answer["error"]
    code, answer = call(app, "PUT", "/scenario", json.dumps({"scenario": {**GOOD["scenario"], "tenants": {}}}).encode())
    assert code == 200
    assert call(app, "GET", "/scenario")[1]["scenario"]["tenants"] == {}
    assert call(app, "PUT", "/scenario", json.dumps(GOOD).encode())[0] == 200
