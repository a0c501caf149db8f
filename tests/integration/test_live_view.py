"""The live view in a real browser (Debian's chromium, headless, driven by chromedriver; nothing downloaded),
at a projector's 1280x720: every switch, server and VM of the lab is on the page; a link taken down or a VM
moved shows within 2 s, without reloading; a cable carrying pings shows their rate; a traced packet is drawn
predicted, then cable by cable with its header stack. The page changes the lab only with buttons and the
lab's secret."""
import json
import shutil
import struct
import urllib.error
import urllib.request

import pytest

from overlaylab import Lab
from overlaylab.measure.webbench import headless_browser
from tests.integration.conftest import NAME

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
WebDriverWait = pytest.importorskip("selenium.webdriver.support.ui", reason="selenium is installed by "
                                    "scripts/install.sh --test").WebDriverWait
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="chromium and chromium-driver are not installed "
                                                                  "(scripts/install.sh --test installs them)")


@pytest.fixture
def browser():
    with headless_browser() as driver:  # at a projector's 1280x720
        yield driver


def shown(browser, css, timeout=2.0):
    """The page's elements matching `css`, once there are any (within `timeout` seconds)."""
    return WebDriverWait(browser, timeout, poll_frequency=0.05).until(
        lambda page: page.find_elements("css selector", css), f"{css} on the page")


def said(browser, start: str, timeout: float = 30.0) -> str:
    """What the page says the lab answered, once it starts with `start`."""
    return WebDriverWait(browser, timeout, poll_frequency=0.05).until(
        lambda page: (text := page.find_element("id", "said").text).startswith(start) and text, f"the page to say {start}")


def png_size(path) -> tuple[int, int]:
    return struct.unpack(">II", path.read_bytes()[16:24])


def test_the_page_follows_the_lab(browser, tmp_path):
    with Lab(name=NAME) as lab:
        browser.get(lab.live.serve("127.0.0.1:0"))
        shown(browser, "[data-vm]", timeout=10)
        nodes = {e.get_attribute("data-node") for e in browser.find_elements("css selector", "[data-node]")}
        assert nodes == {s.name for s in lab.scenario.fabric.switches} | {s.name for s in lab.servers}
        vms = {e.get_attribute("data-vm"): e.get_attribute("data-server")
               for e in browser.find_elements("css selector", "[data-vm]")}
        assert vms == {vm.label: vm.server.name for vm in lab.vms}
        assert shown(browser, '[data-link="p0a0-c0"][data-state="up"]')
        assert not browser.find_elements("css selector", "line.hit")  # read-only: no cable to click

        lab.node("pepsi/web").cmd("ping -q -c 60 -i 0.05 192.0.2.3 >/dev/null 2>&1 &")  # 20 each way a second
        busy = '[data-link="p0e0h0-p0e0"]'  # 40 packets a second; the first reading may catch the pings' start
        assert WebDriverWait(browser, 4, poll_frequency=0.05).until(
            lambda page: float(page.find_element("css selector", busy).get_attribute("data-pps") or 0) >= 20)
        assert float(browser.find_element("css selector", busy).get_attribute("data-bps")) > 0
        assert browser.find_element("css selector", '[data-link="p3e1h1-p3e1"]').get_attribute("data-pps") == "0"

        lab.fail("link", "p0a0", "c0")
        assert shown(browser, '[data-link="p0a0-c0"][data-state="down"]')
        lab.migrate("pepsi/web", "p1e0h0")
        assert shown(browser, '[data-vm="pepsi/web"][data-server="p1e0h0"]')
        lab.fail("switch", "p2a1")
        assert shown(browser, '[data-node="p2a1"][data-state="down"]')
        lab.add_tenant("fanta", 5003)
        lab.add_vm("fanta/web", "192.0.2.9/24", "p2e0h1")
        assert shown(browser, '[data-vm="fanta/web"][data-server="p2e0h1"]')
        assert "fanta: VNI 5003" in browser.find_element("id", "tenants").text

        traced = lab.trace("coke/web", "coke/db")  # as `trace coke/web coke/db` in the lab CLI
        assert traced.taken is not None and shown(browser, "polyline[data-path]")
        assert shown(browser, '[data-hop="p3e1-p3e1h1"]', timeout=2 + 0.7 * 8)  # cable by cable, 0.7 s each
        hops = browser.find_element("id", "hops").text
        assert "GENEVE" in hops and "VNI 5002" in hops and "outer 10.0.0.2 -> 10.3.1.3" in hops
        browser.save_screenshot(str(tmp_path / "live.png"))
        assert png_size(tmp_path / "live.png") == (1280, 720)


def ask(url: str, asked: dict, key: str = "") -> tuple[int, str]:
    request = urllib.request.Request(url + "act", json.dumps(asked).encode(), {"Content-Type": "application/json"})
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.load(answer)["done"]
    except urllib.error.HTTPError as refused:
        return refused.code, json.load(refused)["error"]


def test_buttons_change_the_lab_only_at_the_address_with_its_secret(browser):
    with Lab(name=NAME) as lab:
        url = lab.live.serve("127.0.0.1:0", buttons=True)
        down = {"do": "link", "a": "p0a0", "b": "c0", "up": False}
        assert ask(url, down)[0] == 403 and ask(url, down, "not-the-secret")[0] == 403
        assert not lab.running.nodes.cut
        keyed = lab.live.keyed
        assert keyed.stat().st_mode & 0o077 == 0 and keyed.read_text().startswith(url + "#key=")

        browser.get(keyed.read_text().strip())
        link = shown(browser, '[data-link="p0a0-c0"][data-state="up"] + line.hit', timeout=10)[0]
        browser.execute_script("arguments[0].dispatchEvent(new MouseEvent('click'))", link)
        assert shown(browser, '[data-link="p0a0-c0"][data-state="down"]', timeout=10)
        assert said(browser, "link p0a0-c0 down: flow changes underlay")  # the repair, measured, is over
        assert lab.running.nodes.cut == {frozenset(("p0a0", "c0"))}

        shown(browser, '[data-vm="coke/db"]')[0].click()
        shown(browser, '[data-node="p2e0h1"]')[0].click()  # a VM, then a server: move it there
        assert shown(browser, '[data-vm="coke/db"][data-server="p2e0h1"]', timeout=10)
        assert said(browser, "coke/db moved to p2e0h1: flow changes underlay 0")
        assert next(vm for vm in lab.vms if vm.label == "coke/db").server.name == "p2e0h1"

        shown(browser, '[data-vm="coke/web"]')[0].click()
        shown(browser, '[data-vm="coke/db"]')[0].click()  # two VMs: trace between them
        assert shown(browser, '[data-hop="p2e0-p2e0h1"]', timeout=10)
        assert ask(url, {"do": "trace", "src": "pepsi/web", "dst": "pepsi/db"})[0] == 200  # traces: anyone
