"""The example notebook runs from top to bottom on a real lab, as Jupyter would run it (nbclient, an
IPython kernel), so it cannot rot; and it leaves nothing behind."""
import nbformat
from nbclient import NotebookClient

from tests.integration.conftest import REPO

NOTEBOOK = REPO / "examples" / "lab_tour.ipynb"


def test_the_example_notebook_runs_and_leaves_nothing_behind(clean_machine):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    text = "".join(o.get("text", "") for o in outputs)
    assert "ECMP paths predicted; the packet took path" in text and "underlay 0," in text
    assert "every check passed: True" in text and text.rstrip().endswith("the lab is torn down")
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the plot
