"""`overlaylab bench --web`: the live view on a big lab (default k=8 with 256 VMs), measured in a real
browser (Debian's headless chromium; nothing downloaded).

Targets (issue 19): the page's first paint (every VM drawn) within 2 s; a change (a link down, a VM
migrated) shown within 1 s of the call returning; the view costing at most 5% of one core while the lab
is idle and the page open; the lab's `check` no slower with the page open (the ratio, in one run).
"""
from __future__ import annotations

import resource
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

from overlaylab.classroom.livelab import Live
from overlaylab.errors import LabError
from overlaylab.runtime import failures
from overlaylab.runtime.running import RunningLab
from overlaylab.system import columns, wait_until, wrapped
from overlaylab.verify.check import Report, run_checks
from topologies.scenario import BUNDLED

DEFAULT = BUNDLED / "scale.yaml"
FIRST_PAINT, SHOWN, IDLE_SHARE = 2.0, 1.0, 0.05  # the targets: seconds, seconds, share of one core
WATCH = """const css = arguments[0]; window.since = performance.now(); window.seenAt = null;
new MutationObserver((_, observer) => { if (document.querySelector(css)) { window.seenAt = performance.now();
  observer.disconnect(); } }).observe(document.body, { subtree: true, childList: true, attributes: true });"""
IDLE_SECONDS = 20.0  # how long the idle cost is measured
PORT = "127.0.0.1:0"  # a free port, whichever
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,720")
PROJECTOR = {"width": 1280, "height": 720, "deviceScaleFactor": 1, "mobile": False}


@contextmanager
def headless_browser() -> Iterator[Any]:
    """Debian's chromium, headless, at a projector's 1280x720, driven by chromedriver (selenium)."""
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        raise LabError("the browser is missing: install chromium and chromium-driver (scripts/install.sh --test)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        raise LabError("selenium is missing: pip install -e '.[test]' (scripts/install.sh --test)") from None
    options = Options()
    options.binary_location = chromium
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PROJECTOR)
        yield driver
    finally:
        driver.quit()


def shown_within(browser: Any, css: str, timeout: float) -> float:
    """Seconds until an element matching `css` is on the page."""
    start = time.monotonic()
    wait_until(lambda: bool(browser.find_elements("css selector", css)), timeout, f"{css} on the page")
    return time.monotonic() - start


def cpu_seconds() -> float:
    """CPU this process (every thread of it: the lab's and the web server's) has used."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def idle_share(seconds: float) -> float:
    """The share of one core this process uses while nothing happens for `seconds`."""
    before, start = cpu_seconds(), time.monotonic()
    time.sleep(seconds)  # a measurement of idleness: nothing to wait for but the clock
    return (cpu_seconds() - before) / (time.monotonic() - start)


def timed_check(lab: RunningLab) -> tuple[float, bool]:
    start, report = time.monotonic(), Report(timings={})
    run_checks(lab, report)
    return time.monotonic() - start, report.ok


def bench_web(lab: RunningLab, live: Live, source: str, out: IO[str]) -> bool:
    """Measure the page on the running lab (built from `source`); True if every target is met."""
    fabric = lab.scenario.fabric
    out.write(f"overlaylab bench --web: {source}: k={fabric.k}, {len(fabric.switches)} switches, "
              f"{len(fabric.servers)} servers, {len(lab.scenario.vms)} VMs\n")
    quiet = idle_share(IDLE_SECONDS)
    alone, alone_ok = timed_check(lab)
    with headless_browser() as browser:
        url, start = live.serve(PORT), time.monotonic()
        browser.get(url)
        painted = _painted(browser, len(lab.scenario.vms), start)
        watched = idle_share(IDLE_SECONDS)
        vm, other = lab.scenario.vms[0], fabric.servers[-1]
        changes = {"link down": _change(browser, lambda: failures.link(lab, "p0a0", fabric.cores[0].name, False),
                                        f'[data-link="p0a0-{fabric.cores[0].name}"][data-state="down"]'),
                   "VM migrated": _change(browser, lambda: lab.members.migrate(vm.label, other.name),
                                          f'[data-vm="{vm.label}"][data-server="{other.name}"]')}
        beside, beside_ok = timed_check(lab)
    cost = watched - quiet
    lines = [f"  first paint (all {len(lab.scenario.vms)} VMs drawn): {painted:.2f} s (target {FIRST_PAINT:.0f} s)",
             *(f"  {what}: shown {after:.2f} s after the call returned (target {SHOWN:.0f} s), {seen:.2f} s after "
               f"it began (the call, measured, took {took:.2f} s)" for what, (after, seen, took) in changes.items()),
             f"  idle: {quiet:.1%} of a core without the page, {watched:.1%} with it open: the view costs {cost:.1%} "
             f"(target {IDLE_SHARE:.0%})",
             f"  check: {alone:.1f} s without the page, {beside:.1f} s with it open (ratio {beside / alone:.2f}); "
             f"green {alone_ok} / {beside_ok}"]
    out.writelines(wrapped(line, columns(out)) + "\n" for line in lines)
    slowest = max(after for after, _, _ in changes.values())
    return painted <= FIRST_PAINT and slowest <= SHOWN and cost <= IDLE_SHARE and alone_ok and beside_ok


def _painted(browser: Any, vms: int, start: float) -> float:
    wait_until(lambda: len(browser.find_elements("css selector", "[data-vm]")) >= vms, 30, "every VM on the page")
    return time.monotonic() - start


def _change(browser: Any, change: Callable[[], object], css: str) -> tuple[float, float, float]:
    """Seconds from the call's return until `css` is on the page; from its start (the page's own clock,
    by a mutation observer); and the call's own."""
    browser.execute_script(WATCH, css)
    start = time.monotonic()
    change()
    took = time.monotonic() - start
    after = shown_within(browser, css, 10)
    return after, browser.execute_script("return (window.seenAt - window.since) / 1000"), took
