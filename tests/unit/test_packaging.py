"""The files a user starts from: the Vagrantfile validates, and the Makefile offers the README's commands."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


BOXES = {("amd64", "virtualbox"): "debian/bookworm64", ("amd64", "libvirt"): "debian/bookworm64",
         ("amd64", "vmware_desktop"): "bento/debian-12", ("amd64", "parallels"): "bento/debian-12",
         ("amd64", "qemu"): "debian/bookworm64",
         ("arm64", "virtualbox"): "bento/debian-12-arm64", ("arm64", "vmware_desktop"): "bento/debian-12-arm64",
         ("arm64", "parallels"): "bento/debian-12-arm64", ("arm64", "libvirt"): "perk/debian-12-genericcloud-arm64",
         ("arm64", "qemu"): "perk/debian-12-genericcloud-arm64"}


def _validate(**env):
    """`vagrant validate` (provider options aside: their plugins are not installed here) with `env` set."""
    return subprocess.run(["vagrant", "validate", "--ignore-provider"], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "OVERLAYLAB_SHOW_BOX": "1", **env})


@pytest.mark.skipif(shutil.which("vagrant") is None, reason="vagrant is not installed (apt-get install vagrant)")
@pytest.mark.parametrize(("arch", "provider"), BOXES, ids=lambda x: x)
def test_the_vagrantfile_validates_for_every_laptop(arch, provider):
    done = _validate(OVERLAYLAB_ARCH=arch, OVERLAYLAB_PROVIDER=provider)
    assert done.returncode == 0 and "validated successfully" in done.stdout, done.stdout + done.stderr
    assert f"overlaylab box: {BOXES[arch, provider]} ({arch}, {provider})" in done.stderr


@pytest.mark.skipif(shutil.which("vagrant") is None, reason="vagrant is not installed (apt-get install vagrant)")
def test_an_unknown_architecture_is_refused_in_one_line():
    done = _validate(OVERLAYLAB_ARCH="sparc")
    assert done.returncode != 0 and "OVERLAYLAB_ARCH=sparc: use amd64 or arm64" in done.stderr


def test_readme_commands_exist_in_the_makefile():
    makefile = (REPO / "Makefile").read_text()
    readme = (REPO / "README.md").read_text()
    for target in ("demo", "test"):
        assert f"sudo make {target}" in readme
        assert f"\n{target}: install\n" in makefile
    assert "make test" in (REPO / ".ci" / "run").read_text()


def test_the_bundle_packs_every_package_with_its_dependencies_and_every_requirement():
    def listed(*args):
        done = subprocess.run(["scripts/bundle.sh", *args, "--list"], cwd=REPO, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout
    names = set(listed().split())
    assert {"openvswitch-switch", "openvswitch-common", "mininet", "python3-venv"} <= names
    assert "chromium" not in names and {"chromium", "vagrant"} <= set(listed("--test").split())
    assert any(line.startswith("os-ken") for line in listed().splitlines())


def test_make_bundle_and_install_agree_on_the_archive():
    script = (REPO / "scripts" / "install.sh").read_text()
    assert "source scripts/packages.sh" in script and "source scripts/packages.sh" in (
        REPO / "scripts" / "bundle.sh").read_text()
    assert '--no-index --find-links "$OFFLINE/wheels"' in script
    assert "\nbundle: install\n\tscripts/bundle.sh\n" in (REPO / "Makefile").read_text()
    for name in ("install.sh", "bundle.sh"):
        assert subprocess.run(["bash", "-n", f"scripts/{name}"], cwd=REPO).returncode == 0
