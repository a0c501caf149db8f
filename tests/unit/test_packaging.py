"""The files a user starts from: the Vagrantfile validates, and the Makefile offers the README's commands."""
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("vagrant") is None, reason="vagrant is not installed (apt-get install vagrant)")
def test_vagrantfile_validates():
    done = subprocess.run(["vagrant", "validate"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "validated successfully" in done.stdout, done.stderr


def test_readme_commands_exist_in_the_makefile():
    makefile = (REPO / "Makefile").read_text()
    readme = (REPO / "README.md").read_text()
    for target in ("demo", "test"):
        assert f"sudo make {target}" in readme
        assert f"\n{target}: install\n" in makefile
    assert "make test" in (REPO / ".ci" / "run").read_text()
