"""The live page's server on loopback, with a stand-in for the lab: the first state at once, a change and
the rates streamed as events, a request refused without the secret, one request at a time, a page that
went forgotten (so an unwatched lab costs nothing), and nothing left running at stop."""
import http.client
import json
import threading

import pytest

from overlaylab.classroom import liveserver
from overlaylab.classroom.liveserver import WebView
from overlaylab.system import wait_until


class Stand:
    """The lab's side of the page: a state that changes when told, cables whose counters grow."""

    secret = "s3cret"

    def __init__(self):
        self.version, self.bytes, self.release = 0, 0, threading.Event()

    def state(self):
        return {"version": self.version}

    def counters(self):
        self.bytes += 1000
        return {"a-b": (self.bytes, self.bytes // 100)}

    def act(self, asked, with_secret):
        if asked.get("do") == "slow":
            self.release.wait(10)
        if not with_secret:
            raise PermissionError("read-only")
        return "done"


def events(response):
    """(kind, data) of each server-sent event, as they come."""
    kind = None
    for raw in response:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            yield kind, json.loads(line[6:])


@pytest.fixture
def served(monkeypatch):
    monkeypatch.setattr(liveserver, "KEEPALIVE", 0.2)
    lab = Stand()
    view = WebView(lab, "127.0.0.1:0")
    view.start()
    yield lab, view
    view.stop()
    assert not view.thread.is_alive()


def post(view, asked, key=""):
    connection = http.client.HTTPConnection(view.host, view.port, timeout=10)
    connection.request("POST", "/act", json.dumps(asked), {"Authorization": f"Bearer {key}"} if key else {})
    answer = connection.getresponse()
    return answer.status, json.loads(answer.read())


def test_the_state_then_its_changes_and_the_rates_are_streamed(served):
    lab, view = served
    connection = http.client.HTTPConnection(view.host, view.port, timeout=5)
    connection.request("GET", "/events")
    stream = events(connection.getresponse())
    assert next(stream) == ("state", {"version": 0})
    assert view.viewers == 1
    lab.version = 1
    seen = {}
    while len(seen) < 2:  # the change, and the first rates (a second after the page came)
        kind, data = next(stream)
        seen[kind] = data
    assert seen["state"] == {"version": 1} and seen["rates"]["a-b"][1] > 0
    connection.close()
    wait_until(lambda: view.viewers == 0, 5, "the server to notice the page went")


def test_changes_need_the_secret_and_come_one_at_a_time(served):
    lab, view = served
    assert post(view, {"do": "link"}) == (403, {"error": "read-only"})
    assert post(view, {"do": "link"}, "s3cret") == (200, {"done": "done"})
    slow = threading.Thread(target=post, args=(view, {"do": "slow"}, "s3cret"))
    slow.start()
    wait_until(lambda: view.busy.locked(), 5, "the slow request to start")
    assert post(view, {"do": "link"}, "s3cret")[0] == 409
    lab.release.set()
    slow.join()
