"""The user's faces on the one Python API: the `overlaylab` command, the lab CLI, its words, the demo."""
