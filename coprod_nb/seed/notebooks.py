"""The working notebooks (and the tour) as shipped with the package, and a copy for a user.

How the notebooks get into an installed package
-----------------------------------------------
The notebooks live at the repository's top level (``notebooks/*.ipynb``,
``notebooks/tour/*.ipynb``), where JupyterLab, Binder, nbval and the browser tests open
them. A wheel ships them as *data files* (``[tool.setuptools.data-files]`` in
``pyproject.toml``), which pip installs under ``<prefix>/share/coprod_nb/notebooks``. We
chose that over copying them into the package by a custom build step: it needs no
``setup.py`` code, the notebooks stay in one place in the repository (no second copy to keep
in step), and ``share/`` is where installed programs keep files a user copies out. At run
time :func:`notebooks_dir` finds them:

1. in a source checkout (an editable install, ``pip install -e .``): the repository's own
   ``notebooks/``, so what a developer edits is what is copied;
2. else from the installed distribution's file list (``RECORD``), which says where pip put
   the data files whatever the install scheme (a virtual environment, ``--user``,
   ``--prefix``);
3. else under the data paths of :mod:`sysconfig` (the environment's prefix, then the user's).
"""

from __future__ import annotations

import os
import shutil
import sysconfig
from importlib import metadata
from pathlib import Path, PurePosixPath

from coprod_nb.errors import InvalidInput, NotFound

_PACKAGE = Path(__file__).resolve().parents[1]  # coprod_nb/
SHARE = PurePosixPath("share", "coprod_nb", "notebooks")  # the wheel's data-files target
TOUR = "tour"


def _checkout_notebooks() -> Path | None:
    root = _PACKAGE.parent
    if (root / "pyproject.toml").is_file() and (root / "notebooks").is_dir():
        return root / "notebooks"
    return None


def _recorded_notebooks() -> Path | None:
    try:
        files = metadata.distribution("coprod_nb").files or []
    except metadata.PackageNotFoundError:
        return None
    n = len(SHARE.parts)
    for entry in files:
        parts = PurePosixPath(entry).parts
        for i in range(len(parts) - n):
            if parts[i : i + n] == SHARE.parts:
                folder = Path(entry.locate()).resolve().parents[len(parts) - i - n - 1]
                if folder.is_dir():
                    return folder
    return None


def _sysconfig_notebooks() -> Path | None:
    user_scheme = f"{os.name}_user"
    prefixes = [sysconfig.get_path("data")]
    if user_scheme in sysconfig.get_scheme_names():
        prefixes.append(sysconfig.get_path("data", user_scheme))
    for prefix in prefixes:
        folder = Path(prefix, *SHARE.parts)
        if folder.is_dir():
            return folder
    return None


def notebooks_dir() -> Path:
    """The folder of the working notebooks (its ``tour/`` holds the tour).

    Raises
    ------
    NotFound
        When this installation of coprod_nb carries no notebooks.
    """
    for find in (_checkout_notebooks, _recorded_notebooks, _sysconfig_notebooks):
        folder = find()
        if folder is not None:
            return folder
    raise NotFound(
        "the notebooks are not installed with this copy of coprod_nb (expected in "
        f"{Path(sysconfig.get_path('data'), *SHARE.parts)}); reinstall it from a wheel or "
        "the repository"
    )


def shipped_notebooks() -> list[Path]:
    """The notebooks a copy takes, relative to :func:`notebooks_dir`: ``*.ipynb`` and
    ``tour/*.ipynb`` (no checkpoints, nothing else)."""
    src = notebooks_dir()
    found = sorted(src.glob("*.ipynb")) + sorted((src / TOUR).glob("*.ipynb"))
    return [p.relative_to(src) for p in found if p.is_file()]


def copy_notebooks(dest: str | os.PathLike, *, force: bool = False) -> list[Path]:
    """Copy the working notebooks into ``dest`` and the tour into ``dest/tour``.

    For a user who installed coprod_nb from a package: the notebooks are then theirs to
    open in JupyterLab, e.g. ``COPROD_STUDY=STUDY jupyter lab DEST``.

    Parameters
    ----------
    dest : path
        The folder to copy into (created if missing).
    force : bool
        Overwrite notebooks that are already there. Without it, an existing notebook of
        the same name stops the copy before anything is written.

    Returns
    -------
    list of Path
        The notebooks written, in ``dest``.

    Raises
    ------
    InvalidInput
        ``dest`` is a file, or holds one of the notebooks already (and ``force`` is False).
    NotFound
        This installation carries no notebooks.
    """
    dest = Path(dest)
    src = notebooks_dir()
    names = shipped_notebooks()
    if not names:
        raise NotFound(f"no notebooks in {src}")
    if dest.exists() and not dest.is_dir():
        raise InvalidInput("not a folder", file=str(dest))
    if (dest / TOUR).exists() and not (dest / TOUR).is_dir():
        raise InvalidInput("not a folder (the tour goes there)", file=str(dest / TOUR))
    there = [name for name in names if (dest / name).exists()]
    if there and not force:
        shown = ", ".join(n.as_posix() for n in there[:3]) + (", ..." if len(there) > 3 else "")
        raise InvalidInput(
            f"{len(there)} of the notebooks are there already ({shown}); nothing was copied. "
            "Copy into another folder, or overwrite them with --force (force=True)",
            file=str(dest),
        )
    written = []
    for name in names:
        target = dest / name
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src / name, target)
        except OSError as exc:
            raise InvalidInput(f"cannot write ({exc.strerror})", file=str(target)) from exc
        written.append(target)
    return written
