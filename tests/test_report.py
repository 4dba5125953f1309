"""The final report in HTML, Word and Markdown: content, privacy, figures, LibreOffice."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import time
import tomllib
import zipfile
from pathlib import Path

import docx
import markupsafe
import pytest

from coprod_nb.domain.wording import prompt_source
from coprod_nb.errors import InvalidInput, NotFound
from coprod_nb.exchange.report import (
    FORMATS,
    NOT_ANSWERED,
    REAL_NAMES_NOTICE,
    build_report,
    save_report,
    write_report,
)
from coprod_nb.seed.demo import build_demo, demo_data_dir
from coprod_nb.seed.manifest import load_workshop
from coprod_nb.storage import Store
from tests.acting import as_, as_lead
from tests.conftest import missing

ANSWER = "We share <budget> decisions & the agenda with contributors."
NAMES = "Leading co-production"


def _real_names() -> list[str]:
    data = tomllib.loads((demo_data_dir() / "study.toml").read_text(encoding="utf-8"))
    found = [
        p["name"]
        for key in ("researchers", "participants", "people")
        for p in data.get(key, [])
        if "name" in p
    ]
    assert len(found) >= 10
    return found


def _docx_text(path: Path) -> str:
    """Every text of a .docx: body paragraphs, tables, and the raw XML parts."""
    document = docx.Document(str(path))
    parts = [p.text for p in document.paragraphs]
    parts += [c.text for t in document.tables for row in t.rows for c in row.cells]
    with zipfile.ZipFile(path) as z:
        parts += [z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml")]
    return "\n".join(parts)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """The demo study, except that the team re-froze v1 with a passage of the AVC
    conversation (whose participant refused quotation) as evidence of T1, before the
    workshop; so the final T1 holds a quote the report must never show."""
    d = tmp_path_factory.mktemp("report") / "study"
    st = build_demo(d, stage="joint")
    st.actor = "tester"
    avc = next(t for t in st.transcripts() if t.title.startswith("avc"))
    turn = next(t for t in st.turns(avc.id) if t.text.startswith("Sorry. A year of doing"))
    excerpt = st.excerpt_of_turn(turn.id)
    st.attach_evidence("T1", excerpts=[excerpt.id])
    as_(st, "Alder").freeze_framework("v2: re-frozen with one more passage")
    load_workshop(st, demo_data_dir() / "workshop.toml", lead="Alder")
    st.set_answer("TCP", 3, ANSWER)
    yield st, excerpt
    st.close()


@pytest.fixture(scope="module")
def outputs(study, tmp_path_factory):
    """All three formats, pseudonymous and with real names."""
    st, _ = study
    out = tmp_path_factory.mktemp("outputs")
    plain = build_report(st)
    (out / "plain").mkdir()
    (out / "real").mkdir()  # an output's folder must exist (coprod_nb/exchange/outputs.py)
    # one build, three formats: they say the same
    paths = {f: save_report(plain, f, out / "plain" / f"report.{f}") for f in FORMATS}
    real_report = build_report(st, real_names=True)
    real = {f: save_report(real_report, f, out / "real" / f"report.{f}") for f in FORMATS}
    return {
        "html": paths["html"].read_text(encoding="utf-8"),
        "md": paths["md"].read_text(encoding="utf-8"),
        "docx": _docx_text(paths["docx"]),
        "paths": paths,
        "real": real,
    }


def _sections(page: str) -> dict[str, str]:
    """The HTML of each final tension's section, by label."""
    found = re.findall(r'<section class="tension" id="(F\d+)">(.*?)</section>', page, re.S)
    return dict(found)


def test_every_final_tension_has_its_section_in_every_format(study, outputs):
    st, _ = study
    framework = st.framework()
    assert framework.codes == ["T1", "T2", "T3", "T8"]
    sections = _sections(outputs["html"])
    assert list(sections) == ["F1", "F2", "F3", "F4"]
    for label, t in zip(sections, framework.tensions, strict=True):
        body = sections[label]
        assert html.escape(t.name) in body
        assert html.escape(t.pole_a) in body and html.escape(t.pole_b) in body
        for sub in t.subthemes:
            assert html.escape(sub) in body
        assert f"## {label} · {t.name}" in outputs["md"]
        assert f"{label} · {t.name}" in outputs["docx"]
    f4 = sections["F4"]
    assert "T4 + T5 + T6 merged into T8" in f4
    for code, count in (("T4", "0 of 5"), ("T5", "1 of 5"), ("T6", "3 of 5")):
        assert re.search(rf"<td>opening</td><td>{code}</td><td>{count}</td>", f4)
    assert "<td>re-vote</td><td>T8</td><td>4 of 5</td><td>80%</td>" in f4
    assert "3 of 5 opening ballots nominated at least one of T4, T5, T6." in f4
    assert "<td>T6</td><td>2</td><td>2</td><td>1</td><td>1.2</td><td>no consensus</td>" in f4
    assert "<td>T1</td><td>4</td><td>1</td><td>0</td><td>1.8</td><td>inner</td>" in sections["F1"]
    assert "with T7 folded in" in sections["F3"]


def test_quotes_are_pseudonymised_attributed_and_consented(study, outputs):
    st, avc_excerpt = study
    shorts = {p.id: p.short for p in st.partnerships()}
    where = {t.id: shorts[t.partnership_id] for t in st.transcripts()}
    by_text = {e.text: where[e.transcript_id] for e in st.excerpts()}
    sections = _sections(outputs["html"])
    for label, body in sections.items():
        quotes = re.findall(r"<p>“(.*?)”</p>\s*<footer>— (\w+)</footer>", body, re.S)
        assert 1 <= len(quotes) <= 3, label
        for text, partnership in quotes:
            assert by_text[html.unescape(text)] == partnership  # attributed to its own
            assert partnership != "AVC"
            assert f"> “{html.unescape(text)}”\n>\n> — {partnership}" in outputs["md"]
            assert f"— {partnership}" in outputs["docx"]
    # the AVC passage is T1's evidence in the final framework, and is shown nowhere
    assert avc_excerpt.id in st.framework().get("T1").evidence["excerpts"]
    for fmt in ("html", "md", "docx"):
        assert avc_excerpt.text not in outputs[fmt]
        assert html.escape(avc_excerpt.text) not in outputs[fmt]
        assert "— AVC" not in outputs[fmt]


def test_figures_are_embedded_or_linked(outputs):
    assert outputs["html"].count('src="data:image/png;base64,') == 5  # four spectra, lineage
    with zipfile.ZipFile(outputs["paths"]["docx"]) as z:
        media = [n for n in z.namelist() if n.startswith("word/media/")]
    assert len(media) == 5
    md = outputs["paths"]["md"]
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", outputs["md"])
    assert len(links) == 5 and all(link.startswith("report_figures/") for link in links)
    for link in links:
        assert (md.parent / link).read_bytes().startswith(b"\x89PNG")


def test_the_html_is_self_contained_and_escaped(outputs):
    page = outputs["html"]
    assert "<script" not in page.lower()
    for attr in re.findall(r'(?:src|href)="([^"]*)"', page):
        assert attr.startswith(("data:", "#")), attr
    # base64 may spell anything; outside the data URIs there is no URL at all
    assert "http" not in re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)
    assert html.escape(ANSWER, quote=False) in page and "<budget>" not in page


def test_the_worksheet_shows_answers_side_by_side(study, outputs):
    st, _ = study
    page = outputs["html"]
    table = re.search(r'<table class="grid worksheet">(.*?)</table>', page, re.S).group(1)
    heads = re.findall(r"<th>(.*?)</th>", table)
    assert heads == ["Topic", *sorted(p.short for p in st.partnerships())]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]
    assert len(rows) == 6
    tcp = heads.index("TCP")
    cells = re.findall(r"<td[^>]*>(.*?)</td>", rows[2], re.S)
    assert cells[0].startswith("3. Sharing power: ")
    assert html.unescape(cells[tcp]) == ANSWER
    assert table.count(f'<td class="empty">{NOT_ANSWERED}</td>') == 6 * 5 - 1
    assert "| 3. Sharing power: " in outputs["md"] and "&lt;budget&gt;" in outputs["md"]
    assert ANSWER in outputs["docx"] and NOT_ANSWERED in outputs["docx"]


def test_the_audit_appendix_lists_every_decision_with_rationale(study, outputs):
    st, _ = study
    audit = re.search(r'<section class="audit">(.*)</section>', outputs["html"], re.S).group(1)
    md_audit = outputs["md"].split("## Appendix: audit trail")[1]
    for d in st.decisions():
        row = re.search(
            rf"<tr><td>3</td><td>2021-11-10</td><td>[^<]*</td><td>{d.ref}: (.*?)</tr>", audit, re.S
        )
        assert row, d.ref
        assert html.escape(d.rationale, quote=True) in row.group(1)
        words = "; ".join(prompt_source(p) for p in d.prompted_by)
        assert str(markupsafe.escape(words)) in row.group(1)  # as the template escapes
        assert f"{d.ref}: " in md_audit and html.escape(d.rationale, quote=False) in md_audit
        assert d.rationale in outputs["docx"]
    assert "framework v1: froze v1: T1, T2, T3, T4, T5, T6" in audit
    assert "excerpts 34, 35, 36" in audit  # evidence ids of T1


def test_no_real_name_without_the_flag(outputs):
    for name in _real_names():
        for fmt in ("html", "md", "docx"):
            assert name not in outputs[fmt], (name, fmt)
        assert REAL_NAMES_NOTICE not in outputs["html"]


def test_with_real_names_the_notice_comes_first_and_the_key_last(outputs):
    real = outputs["real"]
    page = real["html"].read_text(encoding="utf-8")
    body = re.sub(r"<[^>]+>", " ", page.split("<body>", 1)[1])
    assert " ".join(body.split()).startswith("This report contains REAL NAMES")
    assert "<title>REAL NAMES · " in page
    assert "<td>Helen Marsh</td><td>Alder</td>" in page
    assert real["md"].read_text(encoding="utf-8").startswith(f"**{REAL_NAMES_NOTICE}**")
    assert "| Helen Marsh | Alder |" in real["md"].read_text(encoding="utf-8")
    document = docx.Document(str(real["docx"]))
    assert document.paragraphs[0].text == REAL_NAMES_NOTICE
    key = document.tables[-1]
    assert ["Helen Marsh", "Alder"] in [[c.text for c in r.cells] for r in key.rows]


def test_default_paths_and_bad_formats(study, monkeypatch):
    st, _ = study
    path = write_report(st, "MD")
    assert path == st.study_dir / "exports" / "report.md"
    assert (st.study_dir / "exports" / "report_figures" / "lineage.png").is_file()
    with pytest.raises(InvalidInput, match="unknown report format"):
        write_report(st, "pdf")


def test_a_study_before_its_workshop_reports_the_step_2_framework(joint_demo):
    report = build_report(joint_demo)
    assert [t.label for t in report.tensions] == ["F1", "F2", "F3", "F4", "F5", "F6"]
    assert all(t.poll is None and t.circles is None for t in report.tensions)
    assert report.lineage is None and report.figures == []  # no positions, no lineage yet
    assert any("No workshop is recorded yet" in n for n in report.notes)
    assert report.steps.rows[2][2] == "not yet"


def test_no_frozen_framework_no_report(tmp_path):
    with Store(tmp_path / "empty", actor="t") as st, pytest.raises(NotFound):
        build_report(st)


def test_the_docx_converts_with_libreoffice(outputs, tmp_path):
    binary = shutil.which("libreoffice") or shutil.which("soffice")
    if binary is None:
        missing("LibreOffice not installed")
    home = tmp_path / "home"
    home.mkdir()
    started = time.monotonic()
    subprocess.run(
        [
            binary,
            f"-env:UserInstallation={(tmp_path / 'lo-profile').as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(outputs["paths"]["docx"]),
        ],
        check=True,
        capture_output=True,
        timeout=180,
        env={**os.environ, "HOME": str(home)},
    )
    print(f"LibreOffice converted the report in {time.monotonic() - started:.1f} s")
    pdf = tmp_path / "report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    assert pdf.stat().st_size > 50_000  # the five figures made it


def test_a_role_that_may_not_read_the_key_still_gets_a_report_that_says_so(study):
    from coprod_nb.errors import Forbidden
    from coprod_nb.exchange._names import UNCHECKED

    st, _ = study

    def refuse():
        raise Forbidden("this database role may not read the name key")

    st.pseudonym_key = refuse  # shadows the method on this instance only
    try:
        report = build_report(st)
    finally:
        del st.pseudonym_key
    assert report.notes[-1] == UNCHECKED and report.name_key is None
    assert UNCHECKED not in build_report(st).notes


# -- which framework a report shows, and that all of it says the same ----------------------


def _rows(table) -> list[dict]:
    return [dict(zip(table.columns, row, strict=True)) for row in table.rows]


def _says_the_same(report) -> None:
    """Every section agrees with the lineage and the counts: one version, one decision set."""
    sections = {t.code: t for t in report.tensions}
    counts = dict(report.counts.rows)
    assert counts["final tensions"] == str(len(sections))
    if report.lineage is None:
        return
    lineage = _rows(report.lineage)
    assert {r["target"] for r in lineage if r["target"]} == set(sections)
    for r in lineage:
        if not r["target"]:
            continue
        t = sections[r["target"]]
        assert (r["final"], r["target_name"]) == (t.label, t.name), r
        assert r["source"] in t.sources, r
        if "merged into" in r["path"]:
            assert f"merged into {t.code}" in t.origin, (r, t.origin)
        if r["path"] == "unchanged":
            assert t.code == r["source"] and t.origin == f"from {t.code}", (r, t.origin)
    for t in report.tensions:
        assert set(t.sources) == {r["source"] for r in lineage if r["target"] == t.code}


def _all_formats(report, tmp_path) -> dict[str, str]:
    paths = {f: save_report(report, f, tmp_path / f"report.{f}") for f in FORMATS}
    return {
        "html": paths["html"].read_text(encoding="utf-8"),
        "md": paths["md"].read_text(encoding="utf-8"),
        "docx": docx.Document(str(paths["docx"])).paragraphs[0].text,
    }


def test_a_report_during_the_workshop_says_at_its_top_that_it_shows_v1(workshop_open, tmp_path):
    report = build_report(workshop_open)
    assert report.banner == (
        "This report shows framework v1 (agreed at the joint interpretation meeting); "
        "the current framework is v1 (agreed at the joint interpretation meeting) with "
        "6 decisions of the workshop of 2021-11-10 recorded after it (D1, D2, D3, D4, D5, "
        "D6), not yet frozen. Those decisions are not in this report."
    )
    assert [t.code for t in report.tensions] == ["T1", "T2", "T3", "T4", "T5", "T6"]
    assert report.tensions[2].subthemes == ("Language and communication",)  # no fold in v1
    assert report.lineage is None  # no decision is applied in v1: nothing to trace
    for t in report.tensions:  # the opening poll was over v1's cards; the re-vote was not
        assert t.poll is not None and {row[0] for row in t.poll.rows} == {"opening"}
    assert dict(report.counts.rows)["workshop decisions"] == "none applied in v1 (6 recorded since)"
    after = [r for r in _rows(report.audit) if r["What"].startswith("D2: ")]
    assert after and after[0]["What"].endswith("(after v1: not in this report's framework)")
    _says_the_same(report)
    out = _all_formats(report, tmp_path)
    assert out["md"].startswith(f"**{report.banner}**\n")
    body = out["html"].split("<body>", 1)[1]
    assert body.index(html.escape(report.banner)) < body.index("<h1>")
    assert out["docx"] == report.banner


def test_after_a_revert_and_the_freeze_every_section_says_the_same(workshop_open):
    as_lead(workshop_open).revert_decision(None, "D2", rationale="the group kept the three apart")
    as_(workshop_open, "Alder").freeze_workshop_framework(None, "v2: after the workshop")
    report = build_report(workshop_open)
    assert report.banner == ""  # v2 is the current framework
    assert [(t.label, t.code) for t in report.tensions] == [
        ("F1", "T1"),
        ("F2", "T2"),
        ("F3", "T3"),
        ("F4", "T4"),
        ("F5", "T5"),
        ("F6", "T6"),
    ]
    lineage = {(r["source"], r["target"]): r for r in _rows(report.lineage)}
    assert (lineage[("T4", "T4")]["final"], lineage[("T4", "T4")]["path"]) == ("F4", "unchanged")
    assert lineage[("T3", "T3")]["path"] == "received T7 (folded), kept"
    assert lineage[("T7", "T3")]["final"] == "F3"
    assert report.tensions[3].origin == "from T4"
    assert dict(report.counts.rows)["workshop decisions"] == "6 (1 reverted)"
    _says_the_same(report)


def test_a_revert_stored_after_the_freeze_does_not_split_the_report(demo):
    """A study from before reverts were refused after the freeze: D2 was reverted after v2.
    The report of v2 traces the decisions as they stood when v2 was frozen."""
    from sqlalchemy import text

    with demo.engine.begin() as conn:
        conn.execute(
            text("UPDATE decision SET reverted_at = :at WHERE ref = 'D2'"),
            {"at": "2030-01-01 00:00:00"},
        )
    assert "T4" in demo.current_framework().codes  # the replayed log has lost the merge
    report = build_report(demo)
    f4 = report.tensions[3]
    assert (f4.label, f4.code, f4.origin) == ("F4", "T8", "T4 + T5 + T6 merged into T8")
    lineage = {r["source"]: r for r in _rows(report.lineage)}
    assert (lineage["T4"]["target"], lineage["T4"]["path"]) == ("T8", "merged into T8")
    _says_the_same(report)


def test_choosing_the_version_and_the_workshop(demo, tmp_path):
    from datetime import date

    from coprod_nb.domain.decisions import Decision

    v1 = build_report(demo, version=1)
    assert v1.banner == (
        "This report shows framework v1 (agreed at the joint interpretation meeting); "
        "the current framework is v2 (the framework after the workshop), frozen after v1."
    )
    assert len(v1.tensions) == 6 and v1.lineage is None
    assert any("the workshop of 2021-11-10 started from" in n for n in v1.notes)
    _says_the_same(v1)
    v2 = build_report(demo, version=2)
    assert v2.banner == "" and [t.code for t in v2.tensions] == ["T1", "T2", "T3", "T8"]
    _says_the_same(v2)
    path = write_report(demo, "md", tmp_path / "v1.md", version=1)
    assert path.read_text(encoding="utf-8").startswith(f"**{v1.banner}**")

    # a follow-up workshop on v2, with one decision recorded: v2 is no longer current
    follow_up = as_lead(demo).add_workshop(date(2022, 11, 9))
    as_lead(demo).record_decision(
        follow_up.id,
        Decision(kind="rename", targets=("T8",), name="People vs structures", rationale="shorter"),
    )
    now = build_report(demo)
    assert now.banner.startswith("This report shows framework v2 (the framework after ")
    assert "with 1 decision of the workshop of 2022-11-09 recorded after it (D1)" in now.banner
    assert [t.name for t in now.tensions][-1] == "Individual motivation vs structural issues"
    _says_the_same(now)
    first = build_report(demo, workshop=1)  # the workshop v2 was frozen from
    assert first.lineage is not None and first.banner == now.banner
    _says_the_same(first)
    with pytest.raises(InvalidInput, match="did not come from the workshop of 2022-11-09"):
        build_report(demo, version=1, workshop=follow_up.id)
    with pytest.raises(NotFound, match="no framework version 9"):
        build_report(demo, version=9)
