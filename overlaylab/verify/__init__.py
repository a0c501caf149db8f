"""What proves the lab works: probes between VMs, checks, what was seen on the wire, and why."""
