"""The example notebook runs from top to bottom on a real lab, as Jupyter would run it (nbclient, an
IPython kernel), so it cannot rot; and it leaves nothing behind."""
import nbformat
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient

from tests.integration.conftest import REPO, leftovers

NOTEBOOK = REPO / "examples" / "lab_tour.ipynb"


def test_the_example_notebook_runs_and_leaves_nothing_behind(clean_machine):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    text = "".join(o.get("text", "") for o in outputs)
    assert "ECMP paths predicted; the packet took path" in text and "underlay 0," in text
    assert "every check passed: True" in text and text.rstrip().endswith("the lab is torn down")
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the plot


def test_a_kernel_shut_down_with_its_lab_still_up_tears_the_lab_down(clean_machine):
    """A student closes the notebook without lab.stop(): the kernel's exit tears the lab down."""
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(REPO))
    try:
        reply = client.execute_interactive("from overlaylab import Lab\nlab = Lab().start()", timeout=120)
        assert reply["content"]["status"] == "ok"
        assert leftovers() != []  # the lab is up
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=False)
