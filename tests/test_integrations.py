"""Both integration packages: their public surface, and a clear error when an extra is missing."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import pytest

from memorymesh._version import INSTALL_SOURCE

PACKAGES = {
    "langchain_memorymesh": ("langgraph", "memorymesh[langchain]"),
    "llama_index.memory.memorymesh": ("llama_index.core", "memorymesh[llama-index]"),
}


@pytest.mark.parametrize("name", sorted(PACKAGES))
def test_all_matches_the_public_names(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__ == sorted(module.__all__)
    public = {
        n
        for n, value in vars(module).items()
        if not n.startswith("_") and not inspect.ismodule(value) and n != "annotations"
    }
    assert public == set(module.__all__)


@pytest.mark.parametrize("name", sorted(PACKAGES))
def test_a_missing_extra_names_the_pip_install_to_run(name: str) -> None:
    blocked, extra = PACKAGES[name]
    # A fresh interpreter where the framework cannot be imported, as without the extra.
    code = f"import sys\nsys.modules[{blocked!r}] = None\nimport {name}\n"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert f'pip install "{extra} @ {INSTALL_SOURCE}"' in result.stderr  # 5.x, not 4.x


def test_llama_index_stays_a_namespace_package() -> None:
    import llama_index
    import llama_index.memory

    # No __init__.py of ours may shadow LlamaIndex's own namespace packages.
    assert getattr(llama_index, "__file__", None) is None
    assert getattr(llama_index.memory, "__file__", None) is None
    assert len(list(llama_index.__path__)) >= 2
