"""The glue: builds a lab from a scenario, runs the `overlaylab` command and its CLI."""
