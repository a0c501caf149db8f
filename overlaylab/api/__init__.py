"""The Python API: one `Lab` under every face (the `overlaylab` commands, the lab CLI, scripts, notebooks)."""
