"""The per-server virtual switch and the VM node (Mininet classes)."""
