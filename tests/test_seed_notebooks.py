"""`coprod-nb notebooks DIR`: a copy of the working notebooks and the tour for a user.

(tests/test_wheel.py runs the same from an installed wheel.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from coprod_nb.cli import main
from coprod_nb.errors import InvalidInput
from coprod_nb.seed.notebooks import copy_notebooks, notebooks_dir, shipped_notebooks

ROOT = Path(__file__).resolve().parents[1]


def _repo_notebooks() -> list[str]:
    found = [*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("notebooks/tour/*.ipynb")]
    return sorted(p.relative_to(ROOT / "notebooks").as_posix() for p in found)


def _tree(folder: Path) -> dict[str, bytes]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in files}


def test_a_checkout_copies_its_own_notebooks(tmp_path):
    assert notebooks_dir() == ROOT / "notebooks"  # an editable install: what a developer edits
    assert sorted(p.as_posix() for p in shipped_notebooks()) == _repo_notebooks()
    written = copy_notebooks(tmp_path / "mine")
    assert sorted(p.relative_to(tmp_path / "mine").as_posix() for p in written) == _repo_notebooks()
    assert any(p.parent.name == "tour" for p in written)
    for p in written:
        source = ROOT / "notebooks" / p.relative_to(tmp_path / "mine")
        assert p.read_bytes() == source.read_bytes()


def test_an_existing_notebook_is_not_overwritten_without_force(tmp_path, capsys):
    dest = tmp_path / "mine"
    tour = dest / "tour"
    tour.mkdir(parents=True)
    one = _repo_notebooks()[-1]  # a tour notebook: the check covers the subfolder too
    (dest / one).write_text("my own edits")
    before = _tree(dest)
    with pytest.raises(InvalidInput, match="nothing was copied.*--force"):
        copy_notebooks(dest)
    assert _tree(dest) == before

    assert main(["notebooks", str(dest)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--force" in err and one in err
    assert _tree(dest) == before

    assert main(["notebooks", "--force", str(dest)]) == 0
    assert f"copied to {dest}" in capsys.readouterr().out
    assert (dest / one).read_bytes() == (ROOT / "notebooks" / one).read_bytes()
    assert sorted(_tree(dest)) == _repo_notebooks()


def test_a_file_in_the_way_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["notebooks", str(tmp_path / "file")]) == 1
    assert "not a folder" in capsys.readouterr().err
    (tmp_path / "dest").mkdir()
    (tmp_path / "dest" / "tour").write_text("x")
    with pytest.raises(InvalidInput, match="the tour goes there"):
        copy_notebooks(tmp_path / "dest")
    assert sorted(p.name for p in (tmp_path / "dest").iterdir()) == ["tour"]
