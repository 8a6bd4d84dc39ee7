"""The curated public surface: __all__ is exactly what the package exports."""

from __future__ import annotations

import inspect

import memorymesh


def test_all_is_sorted_and_importable() -> None:
    assert (
        memorymesh.__all__ == sorted(memorymesh.__all__, key=str.casefold)
        or sorted(memorymesh.__all__) == memorymesh.__all__
    )
    for name in memorymesh.__all__:
        assert hasattr(memorymesh, name), name


def test_every_public_name_is_in_all() -> None:
    for name in memorymesh.__all__:
        getattr(memorymesh, name)  # the package loads its names on first use
    exported = {
        name
        for name, value in vars(memorymesh).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert exported == set(memorymesh.__all__) - {"__version__"}


def test_package_is_typed() -> None:
    from importlib.resources import files

    assert files("memorymesh").joinpath("py.typed").is_file()


def test_unknown_names_are_an_attribute_error() -> None:
    assert not hasattr(memorymesh, "NoSuchThing")
    assert set(memorymesh.__all__) <= set(dir(memorymesh))
