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
    "vswitch": {"topologies", "probes", "vswitch"},  # the shell of a server, never the controller
    "overlaylab": set(PACKAGES),
}
# overlaylab's own layers: its root modules (errors, system) at the bottom, the user's faces on top
LAB_LAYERS = ("overlaylab", "overlaylab.runtime", "overlaylab.verify", "overlaylab.classroom", "overlaylab.measure",
              "overlaylab.api", "overlaylab.faces")
LAB_MAY_IMPORT = {
    "overlaylab": {"overlaylab"},
    "overlaylab.runtime": {"overlaylab", "overlaylab.runtime"},
    "overlaylab.verify": {"overlaylab", "overlaylab.runtime", "overlaylab.verify"},
    "overlaylab.classroom": {"overlaylab", "overlaylab.runtime", "overlaylab.verify", "overlaylab.classroom"},
    "overlaylab.measure": {"overlaylab", "overlaylab.runtime", "overlaylab.verify", "overlaylab.classroom",
                           "overlaylab.measure"},
    "overlaylab.api": set(LAB_LAYERS) - {"overlaylab.faces"},  # the one Python API, over everything below
    "overlaylab.faces": set(LAB_LAYERS),
}
PURE = ("topologies/fattree.py", "topologies/scenario.py", "topologies/model.py", "topologies/ports.py", "topologies/encap.py", "controller/flows.py",
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


def layer(module: str) -> str:
    """The overlaylab layer a module (`overlaylab.verify.check`) or an import of one belongs to."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 and ".".join(parts[:2]) in LAB_LAYERS else "overlaylab"


@pytest.mark.parametrize("package", LAB_LAYERS)
def test_no_layer_of_the_lab_imports_one_above_it(package):
    folder = REPO / package.replace(".", "/")
    modules = [p for p in folder.glob("*.py") if package != "overlaylab" or p.name != "__init__.py"]  # the API's door
    assert modules, f"{package} has no modules"
    for path in modules:
        above = {m for m in imports(path) if m.split(".")[0] == "overlaylab"
                 and layer(m) not in LAB_MAY_IMPORT[package]}
        assert not above, f"{path.relative_to(REPO)} imports {sorted(above)}"


def test_every_module_of_the_lab_is_in_a_layer():
    folders = {p.parent.relative_to(REPO).as_posix().replace("/", ".") for p in (REPO / "overlaylab").rglob("*.py")}
    assert folders == set(LAB_LAYERS)


@pytest.mark.parametrize("module", PURE)
def test_the_model_and_the_compilers_never_touch_mininet_scapy_or_netlink(module):
    side_effects = {m for m in imports(REPO / module) if m.split(".")[0] in ("mininet", "scapy", "pyroute2")}
    assert not side_effects, f"{module} imports {sorted(side_effects)}"


SOURCES = sorted(p for package in PACKAGES for p in (REPO / package).rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_no_module_is_over_300_lines_nor_a_class_over_15_public_methods(path):
    assert len(path.read_text().splitlines()) <= 300, "split it by purpose"
    for cls in (n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.ClassDef)):
        public = [f.name for f in cls.body if isinstance(f, ast.FunctionDef) and not f.name.startswith("_")
                  and not f.name.startswith("do_")  # a CLI's verbs (cmd.Cmd): each one a command, not a method
                  and not any(isinstance(d, ast.Name) and d.id == "property" for d in f.decorator_list)]
        assert len(public) <= 15, f"{cls.name} has {len(public)} public methods: {public}"
