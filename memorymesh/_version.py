__version__ = "5.0.0a1"

#: Where MemoryMesh 5 installs from until it is published: the package index's ``memorymesh``
#: is still the 4.x line (4.3.0), a different program under the same name, which a bare
#: ``pip install`` of the name would install instead.
INSTALL_SOURCE = "git+https://github.com/memorymesh/memorymesh"


def install_command(extra: str | None = None) -> str:
    """The ``pip install`` line that installs this MemoryMesh (with ``extra``), for messages.

    >>> install_command("mcp")
    'pip install "memorymesh[mcp] @ git+https://github.com/memorymesh/memorymesh"'
    """
    name = f"memorymesh[{extra}]" if extra else "memorymesh"
    return f'pip install "{name} @ {INSTALL_SOURCE}"'
