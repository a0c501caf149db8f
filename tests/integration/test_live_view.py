"""The live view in a real browser (Debian's chromium, headless, driven by chromedriver; nothing downloaded):
every switch, server and VM of the lab is on the page, and a link taken down or a VM moved shows within 2 s,
without reloading."""
import shutil
import socket

import pytest

from overlaylab import Lab
from tests.integration.conftest import NAME

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="chromium and chromium-driver are not installed "
                                                                  "(scripts/install.sh --test installs them)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,720"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def shown(browser, css, timeout=2.0):
    """The page's elements matching `css`, once there are any (within `timeout` seconds)."""
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(browser, timeout, poll_frequency=0.05).until(
        lambda page: page.find_elements("css selector", css), f"{css} on the page")


def test_the_page_follows_the_lab(browser, tmp_path):
    with Lab(name=NAME) as lab:
        browser.get(lab.live.serve(f"127.0.0.1:{free_port()}"))
        shown(browser, "[data-vm]", timeout=10)
        nodes = {e.get_attribute("data-node") for e in browser.find_elements("css selector", "[data-node]")}
        assert nodes == {s.name for s in lab.scenario.fabric.switches} | {s.name for s in lab.servers}
        vms = {e.get_attribute("data-vm"): e.get_attribute("data-server")
               for e in browser.find_elements("css selector", "[data-vm]")}
        assert vms == {vm.label: vm.server.name for vm in lab.vms}
        assert shown(browser, '[data-link="p0a0-c0"][data-state="up"]')

        lab.fail("link", "p0a0", "c0")
        assert shown(browser, '[data-link="p0a0-c0"][data-state="down"]')
        lab.migrate("pepsi/web", "p1e0h0")
        assert shown(browser, '[data-vm="pepsi/web"][data-server="p1e0h0"]')
        assert browser.save_screenshot(str(tmp_path / "live.png")) and (tmp_path / "live.png").stat().st_size > 10_000
