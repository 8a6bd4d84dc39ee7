"""Where the stores live, and creating their files with owner-only permissions."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

__all__ = [
    "IN_MEMORY",
    "PROJECT_MARKERS",
    "NotADatabaseFileError",
    "ReadOnlyFileError",
    "check_database_file",
    "configured_db",
    "create_private_file",
    "default_global_path",
    "find_project_root",
    "ignore_in_git",
    "prepare_database_file",
    "project_store_path",
]

IN_MEMORY = ":memory:"

#: The folder a project store lives in, at the project root.
STORE_FOLDER = ".memorymesh"

_GITIGNORE = (
    "# Created by MemoryMesh: this project's memory store is personal; keep it out of git.\n"
    "# Delete this file to commit the store on purpose.\n"
    "*\n"
)

#: A directory holding any of these is taken to be a project root.
PROJECT_MARKERS: tuple[str, ...] = (
    ".git",
    ".hg",
    ".memorymesh",
    "pyproject.toml",
    "package.json",
    "Cargo.toml",
    "go.mod",
    "pom.xml",
    "build.gradle",
    "Gemfile",
    "composer.json",
    "mix.exs",
    "setup.py",
)


def memorymesh_home() -> Path:
    """``$MEMORYMESH_HOME``, or ``~/.memorymesh``."""
    configured = os.environ.get("MEMORYMESH_HOME")
    return Path(configured).expanduser() if configured else Path.home() / ".memorymesh"


def default_global_path() -> Path:
    return memorymesh_home() / "global.db"


def configured_db() -> str | None:
    """``$MEMORYMESH_DB``: the project store the command line, the MCP server and the Claude
    Code hook open when not given ``--db`` (a file, or a ``postgresql://`` URL, so every
    worker and tool of a team points at one server with one setting); None when unset."""
    return os.environ.get("MEMORYMESH_DB", "").strip() or None


def find_project_root(start: Path | None = None) -> Path | None:
    """``$MEMORYMESH_PROJECT_ROOT``, else the nearest directory at or above ``start`` (the
    working directory by default) that holds a project marker. The home directory itself is
    never a project: a stray ``~/package.json`` must not turn every folder into one project."""
    configured = os.environ.get("MEMORYMESH_PROJECT_ROOT")
    if configured:
        return Path(configured).expanduser().resolve()
    here = (start or Path.cwd()).resolve()
    home = Path.home().resolve()
    for directory in (here, *here.parents):
        if directory == home:
            return None
        if any((directory / marker).exists() for marker in PROJECT_MARKERS):
            return directory
    return None


def project_store_path(root: Path) -> Path:
    return root / STORE_FOLDER / "memories.db"


def ignore_in_git(directory: Path) -> None:
    """Give a project's ``.memorymesh/`` folder a ``.gitignore`` that ignores the folder itself.

    A project store is personal (and a live SQLite file, with -wal and -shm siblings): it must
    not land in a commit by accident. Ignoring from inside the folder, as virtualenvs and tool
    caches do, works in any repository without editing the project's own ``.gitignore`` (no
    diff for the user to explain). An existing file is never touched, and a write that fails
    (a read-only folder) never stops the store from opening.
    """
    marker = directory / ".gitignore"
    if marker.exists():
        return
    with contextlib.suppress(OSError):
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(_GITIGNORE)


#: The first 16 bytes of every SQLite database file.
SQLITE_HEADER = b"SQLite format 3\x00"


def create_private_file(path: Path) -> bool:
    """Create ``path`` empty with mode 0600 if nothing is there; True if it was created.

    Exclusive create without following symlinks: an existing file, or a symlink planted at
    ``path`` (even a dangling one), is never opened for writing or re-permissioned here.
    """
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def prepare_database_file(path: Path) -> None:
    """Create ``path``'s directory (0700) and the file itself (0600) before SQLite opens it;
    check that an existing one can be a database, without changing it.

    SQLite gives the -wal and -shm files the permissions of the database file, so creating the
    file with 0600 keeps all three private. An existing file's mode is never changed (nor
    through a symlink): only files MemoryMesh creates are made 0600, and ``memorymesh doctor``
    reports a store that is readable by others.

    Raises:
        IsADirectoryError: ``path`` is a directory.
        NotADatabaseFileError: an existing ``path`` is not a regular file, does not start
            with the SQLite header, or cannot be read.
        ReadOnlyFileError: an existing ``path`` has no write permission for its owner (or
            for this process): it was made read-only on purpose and stays so.
    """
    if path.is_dir():
        # SQLite would fail later, in aiosqlite's worker thread, with a vaguer message.
        raise IsADirectoryError("it is a directory, not a database file")
    directory = path.parent
    if not directory.exists():
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            directory.chmod(0o700)  # the folder was just created by us: umask aside
    if not path.exists() and not path.is_symlink():
        if directory.name == STORE_FOLDER and directory.resolve() != memorymesh_home().resolve():
            ignore_in_git(directory)
        if create_private_file(path):
            return
    check_database_file(path)


class NotADatabaseFileError(OSError):
    """An existing file that cannot be a SQLite database (checked before anything touches it)."""


class ReadOnlyFileError(PermissionError):
    """An existing database file its owner made read-only."""


def check_database_file(path: Path) -> None:
    """Refuse, without writing anything, an existing ``path`` that is not a database file.

    Raises:
        NotADatabaseFileError: not a regular file, unreadable, or no SQLite header.
        ReadOnlyFileError: read-only for its owner or for this process.
    """
    try:
        info = path.stat()  # a symlink to a store is fine to open: nothing is chmod-ed
    except OSError as exc:
        raise NotADatabaseFileError(f"cannot read it ({exc.strerror or exc})") from exc
    if not stat.S_ISREG(info.st_mode):
        raise NotADatabaseFileError("it is not a regular file (a device, pipe or special file)")
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise NotADatabaseFileError(f"cannot read it ({exc.strerror or exc})") from exc
    if header and header != SQLITE_HEADER:
        raise NotADatabaseFileError("it is not a SQLite database")
    if not info.st_mode & stat.S_IWUSR or not os.access(path, os.W_OK):
        raise ReadOnlyFileError(
            f"it is read-only (mode {stat.S_IMODE(info.st_mode):04o}) and MemoryMesh never "
            f"changes a file's mode; make it writable (chmod u+w) to use it"
        )
