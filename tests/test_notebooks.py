"""The notebooks run end to end, offline, in a real Jupyter kernel."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("langchain_memorymesh")
pytest.importorskip("llama_index.memory.memorymesh")

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


def test_both_notebooks_exist() -> None:
    assert {p.name for p in NOTEBOOKS} >= {"langchain.ipynb", "llama_index.ipynb"}


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path: Path, tmp_path: Path) -> None:
    committed = nbformat.read(path, as_version=4)
    # Committed with outputs, so a reader on GitHub sees what each cell does.
    code = [cell for cell in committed.cells if cell.cell_type == "code"]
    assert sum(bool(cell.outputs) for cell in code) * 2 >= len(code), "commit it executed"
    (tmp_path / "home").mkdir(exist_ok=True)  # the kernel's HOME (see conftest) must exist
    book = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        book, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    for cell in book.cells:
        for output in cell.get("outputs", []):
            assert output.get("output_type") != "error"
