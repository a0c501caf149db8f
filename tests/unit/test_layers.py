"""The packages stack in one direction: the pure model at the bottom, the lab that has side effects on top."""
import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("topologies", "controller", "probes", "vswitch", "overlaylab")
MAY_IMPORT = {
    "topologies": {"topologies"},
    "controller": {"topologies", "controller"},
    "probes": {"topologies", "probes"},
    "vswitch": {"topologies", "controller", "probes", "vswitch"},
    "overlaylab": set(PACKAGES),
}
PURE = ("topologies/fattree.py", "topologies/scenario.py", "topologies/encap.py", "controller/flows.py",
        "controller/underlay.py", "controller/overlay.py", "controller/trace.py")


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return found | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}


@pytest.mark.parametrize("package", PACKAGES)
def test_no_package_imports_one_above_it(package):
    for path in (REPO / package).glob("*.py"):
        above = {m for m in imports(path) if m.split(".")[0] in PACKAGES} - {
            m for m in imports(path) if m.split(".")[0] in MAY_IMPORT[package]}
        assert not above, f"{path.relative_to(REPO)} imports {sorted(above)}"


@pytest.mark.parametrize("module", PURE)
def test_the_model_and_the_compilers_never_touch_mininet_scapy_or_netlink(module):
    side_effects = {m for m in imports(REPO / module) if m.split(".")[0] in ("mininet", "scapy", "pyroute2")}
    assert not side_effects, f"{module} imports {sorted(side_effects)}"
