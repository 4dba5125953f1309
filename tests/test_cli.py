"""The coprod-nb command line, run as a user would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from coprod_nb.cli import main


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "coprod_nb.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "COPROD_USER": "cli-tester"},
    )


def test_demo_then_info_json(tmp_path):
    d = tmp_path / "study"
    out = run("demo", str(d), "-q")
    assert out.returncode == 0, out.stderr
    info = json.loads(run("info", str(d), "--json").stdout)
    assert info["partnerships"] == 5
    assert info["participants"] == 5 and info["researchers"] == 3
    assert info["transcripts"] >= 5
    assert min(info["words_per_transcript"].values()) >= 2500
    assert info["words"] == sum(info["words_per_transcript"].values())


def test_corrupt_file_exits_non_zero_and_changes_nothing(tmp_path, demo_dir, capsys):
    before = json.loads(run("info", str(demo_dir), "--json").stdout)
    bad = tmp_path / "corrupt.docx"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip archive")
    out = run("import", str(demo_dir), str(bad), "-q")
    assert out.returncode != 0
    assert "corrupt.docx" in out.stderr and "Traceback" not in out.stderr
    after = json.loads(run("info", str(demo_dir), "--json").stdout)
    assert after == before


def test_same_file_twice_is_refused(tmp_path, demo_dir):
    src = Path(__file__).parent / "data" / "transcripts" / "interview.srt"
    assert run("import", str(demo_dir), str(src), "-q").returncode == 0
    again = run("import", str(demo_dir), str(src), "-q")
    assert again.returncode == 1
    assert "already in the study" in again.stderr


def test_search_history_pseudonym_and_speakers(demo_dir, capsys):
    assert main(["search", str(demo_dir), "jargon", "--json", "--limit", "3"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 3 and all("**" in h["snippet"] for h in hits)
    assert main(["history", str(demo_dir), "transcript:1"]) == 0
    assert " import transcript:1 " in capsys.readouterr().out
    assert main(["history", str(demo_dir), "partnership:LAHRP"]) == 0
    assert "create partnership:" in capsys.readouterr().out
    assert main(["pseudonym", str(demo_dir), "Tuesday", "Weekday", "--as", "lead"]) == 0
    assert "turns changed" in capsys.readouterr().out
    assert main(["search", str(demo_dir), "Tuesday"]) == 0
    assert capsys.readouterr().out.strip() == "no match"
    assert main(["speakers", str(demo_dir)]) == 0
    assert "every speaker is matched" in capsys.readouterr().out


def test_user_mistakes_are_one_line_errors(tmp_path, capsys):
    assert main(["info", str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no study") and "Traceback" not in err
    assert main(["init", str(tmp_path / "s")]) == 0
    assert main(["search", str(tmp_path / "s"), "  ?!  "]) == 1
    assert "nothing to search for" in capsys.readouterr().err
    assert main(["history", str(tmp_path / "s"), "transcript:nope"]) == 1
    with pytest.raises(SystemExit) as exc:  # argparse: a malformed date is a usage error
        main(["import", str(tmp_path / "s"), "x.txt", "--date", "yesterday"])
    assert exc.value.code == 2


def test_db_option_selects_another_database(tmp_path, pg_url, capsys):
    d = tmp_path / "team"
    assert main(["demo", str(d), "--db", pg_url, "-q"]) == 0
    assert not (d / "study.db").exists()
    assert main(["info", str(d), "--db", pg_url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out.split("\n", 1)[1])["transcripts"] == 5


def test_export_qdpx_and_tables_then_import_into_a_new_study(demo_dir, tmp_path, capsys):
    out = tmp_path / "study.qdpx"
    assert main(["export", str(demo_dir), "--format", "qdpx", str(out)]) == 0
    assert main(["export", str(demo_dir), "--format", "xlsx", str(tmp_path / "t.xlsx")]) == 0
    assert main(["export", str(demo_dir), "--format", "csv", str(tmp_path / "csv")]) == 0
    assert (tmp_path / "csv" / "README.txt").read_text().startswith("Pseudonymised")
    fresh = tmp_path / "fresh"
    assert main(["init", str(fresh)]) == 0
    assert main(["import", str(fresh), str(out)]) == 0
    capsys.readouterr()
    assert main(["info", str(fresh), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["transcripts"] == 5
    assert main(["export", str(demo_dir), "--format", "csv", str(tmp_path / "csv")]) == 1
    assert (
        main(
            [
                "export",
                str(demo_dir),
                "--format",
                "xlsx",
                "--real-names",
                str(tmp_path / "real.xlsx"),
            ]
        )
        == 0
    )
    assert "REAL NAMES" in capsys.readouterr().err


def test_report_command_writes_each_format(demo_dir, tmp_path, capsys):
    for fmt in ("html", "md", "docx"):
        out = tmp_path / f"report.{fmt}"
        assert main(["report", str(demo_dir), "--format", fmt, str(out)]) == 0
        assert out.exists() and out.stat().st_size > 1000
    html = (tmp_path / "report.html").read_text()
    assert "Individual motivation vs structural issues" in html


def test_report_command_reports_a_chosen_framework_and_workshop(second_templates, tmp_path, capsys):
    import shutil

    study = tmp_path / "study"
    shutil.copytree(second_templates("two_workshops"), study)
    out = tmp_path / "v1.md"
    assert main(["report", str(study), "--format", "md", "--framework", "1", str(out)]) == 0
    assert "This report shows framework v1" in out.read_text(encoding="utf-8")[:1500]
    from coprod_nb.storage import Store

    with Store(study) as st:
        first = st.workshops()[0]
    out2 = tmp_path / "first.md"
    day = f"{first.date:%Y-%m-%d}"
    assert main(["report", str(study), "--format", "md", "--workshop", day, str(out2)]) == 0
    assert main(["report", str(study), "--format", "md", "--workshop", "1999-01-01", str(out2)])
    assert "no workshop on 1999-01-01" in capsys.readouterr().err


def test_a_reader_that_stops_early_gets_no_traceback(demo_dir):
    # `coprod-nb info STUDY | head`: the reader is gone before the command writes
    proc = subprocess.Popen(
        [sys.executable, "-m", "coprod_nb.cli", "info", str(demo_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err
