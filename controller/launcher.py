"""Start the controller app on os-ken (which no longer ships osken-manager): `python -m controller.launcher`."""
from __future__ import annotations

import argparse
import functools
import logging
import sys

LISTEN_BACKLOG = 1024
SWITCH_INTERVAL = 0.0005


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (the lab passes its "
                                                            "management address)")
    parser.add_argument("--port", type=int, required=True, help="OpenFlow TCP port")
    parser.add_argument("--scenario", help="scenario file (default: the bundled lecture.yaml)")
    parser.add_argument("--k", type=int, help="fat-tree k, overriding the scenario's")
    parser.add_argument("--mode", choices=("overlay", "flat"), help="how VMs reach each other (default overlay)")
    parser.add_argument("--ports", help="JSON file of the VMs' br-int ports (a running lab's)")
    parser.add_argument("--status", help="file to report synced datapaths and errors in (controller.status)")
    parser.add_argument("--api-port", type=int, help="serve the REST API (controller.api) on this port of --host")
    parser.add_argument("--api-secret", help="file holding the secret every API request must carry")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    from os_ken.lib import hub
    hub.patch(thread=False)
    # os-ken listens with eventlet's default backlog of 50; a k=8 lab connects 80 underlay switches
    # at once, then 128 virtual switches, and a SYN dropped from a full queue costs a switch seconds
    # of reconnect backoff (seen: a whole pod's switches waiting 40 s for their flows).
    hub.listen = functools.partial(hub.listen, backlog=LISTEN_BACKLOG)
    sys.setswitchinterval(SWITCH_INTERVAL)
    from os_ken import cfg
    from os_ken.base.app_manager import AppManager

    import controller.app  # noqa: F401 - registers the app's options before they are parsed
    options = ["--ofp-listen-host", args.host, "--ofp-tcp-listen-port", str(args.port)]
    for name in ("scenario", "k", "mode", "ports", "status", "api_port", "api_secret"):
        if getattr(args, name) is not None:
            options += [f"--overlaylab-{name.replace('_', '-')}", str(getattr(args, name))]
    cfg.CONF(args=options, project="os_ken")
    AppManager.run_apps(["controller.app"])


if __name__ == "__main__":
    main()
