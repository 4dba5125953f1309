"""The core imports without the optional heavy dependencies (a browser-only Python, Pyodide).

psycopg (a compiled driver for a server study), python-docx and openpyxl (report and
spreadsheet exports), Voilà, ipywidgets and Playwright are imported only where they are
used, so domain, storage, analysis, the study and the demo's module load without them:
checked in a fresh interpreter with those modules made unimportable, which then builds a
small study on SQLite and reads it. (Building the demo itself reads its .docx transcript,
so it needs python-docx, which is pure Python and loads in Pyodide.)
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

BLOCKED = ("psycopg", "docx", "openpyxl", "voila", "ipywidgets", "playwright", "anywidget")


def test_core_imports_and_builds_the_demo_without_heavy_optional_modules(tmp_path):
    code = textwrap.dedent(
        f"""
        import sys

        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {BLOCKED!r}:
                    raise ImportError("blocked: " + name)

        sys.meta_path.insert(0, Block())
        import coprod_nb, coprod_nb.domain, coprod_nb.storage, coprod_nb.analysis
        import coprod_nb.study, coprod_nb.course, coprod_nb.teaching.exercises
        import coprod_nb.seed.demo
        from coprod_nb.domain import RawTurn
        from coprod_nb.storage import Store

        store = Store({str(tmp_path / "study")!r}, actor="wren")
        store.add_partnership("KEL", "Kelp Lane health partnership")
        store.add_researcher("Wren", login="wren", lead=True)
        turns = [RawTurn("Wren", "What changed first?"), RawTurn("Ida", "The room.")]
        store.add_transcript(turns, title="Kelp Lane", source_name="kel.txt",
                             source_format="txt", content_hash="x" * 32, partnership="KEL")
        store.add_note("Wren", "KEL", "the room mattered")
        print(len(store.transcripts()), len(store.notes()))
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in {BLOCKED!r})
        print(loaded)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["1 1", "[]"], done.stdout
