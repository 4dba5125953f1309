"""REFI-QDA exchange with other tools (issue 16): the shapes peers read, the round trip
element by element, an independent reader, and what other tools write."""

from __future__ import annotations

import json
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from lxml import etree

import coprod_nb.exchange
from coprod_nb.domain import RawTurn
from coprod_nb.errors import InvalidInput
from coprod_nb.exchange.refi_qda import export_qdpx, finish_qdpx_import, import_qdpx
from coprod_nb.storage import Store
from tests.acting import as_
from tests.badinput import assert_refused, run_cli

NS = {"q": "urn:QDA-XML:project:1.0"}
SEL = "q:Sources/q:TextSource/q:PlainTextSelection"
XSD = etree.XMLSchema(
    etree.parse(str(Path(coprod_nb.exchange.__file__).parent / "schemas" / "Project.xsd"))
)
# accents, combining marks (e + U+0301), CJK, right-to-left, emoji (outside the BMP)
TURNS = [
    ("Zoë", "Café, cafe\u0301 — we met 🌍 twice; 🦜 stayed."),
    ("李华", "我们一起工作 🤝 很久。"),
    ("Zoë", "قالت: الشراكة مهمة 🙂 جداً"),
    ("李华", "Ñandú 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 done."),
]


def _multilingual(path: Path) -> Store:
    """A study in many scripts, built with the library, step 1 closed, tensions coded."""
    st = Store(path, actor="zoe")
    st.update_study(name="Étude 多语 دراسة 🌱", description="Ñandú — e\u0301 — 回声 — صدى 🦜")
    st.add_researcher("Zoë", login="zoe", lead=True)
    st.add_researcher("李华", login="li")
    p = st.add_partnership("ÉCHO", "Écho · 回声 · صدى", {"région": "Île", "members": 3})
    tr = st.add_transcript(
        [RawTurn(s, t) for s, t in TURNS],
        title="Entretien 一 مقابلة",
        source_name="ml.txt",
        source_format="txt",
        content_hash="ml-1",
        partnership=p.id,
    )
    quotes = ["🦜 stayed", "🤝 很久", "الشراكة مهمة 🙂", "cafe\u0301", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢"]
    ex = [st.excerpt_of_quote(tr.id, q) for q in quotes]
    cat = list(st.note_categories())
    as_(st, "zoe").add_note(
        "Zoë", "ÉCHO", "Le café 🌍 d'abord.", category=cat[0], excerpts=[ex[0].id]
    )
    as_(st, "li").add_note("李华", "ÉCHO", "合作 🤝 长久", category=cat[0], excerpts=[ex[0].id])
    as_(st, "li").add_note("李华", "ÉCHO", "مذكرة 🙂", category=cat[1], excerpts=[ex[2].id])
    journal = as_(st, "zoe").add_note("Zoë", "ÉCHO", "Journal: e\u0301 — 日记 🦜", category=cat[1])
    as_(st, "zoe").close_recall()
    st.add_tension("Confiance 信任", "proche قريب", "loin 远", subthemes=["ritmo 🎵"])
    st.attach_evidence("T1", excerpts=[ex[1].id, ex[3].id], notes=[journal.id])
    st.add_tension("Rythme", "lent", "vite 🚀", description="ا ب ت")
    st.attach_evidence("T2", excerpts=[ex[4].id])
    return st


@pytest.fixture
def multilingual(tmp_path):
    st = _multilingual(tmp_path / "ml")
    yield st
    st.close()


def _canon(path: Path, fold_root: bool = False) -> dict:
    """The export as comparable values: every GUID replaced by what it names, times out.

    ``fold_root``: the tension root "Tensions (framework vN)" and "(working set)" alike.
    """
    with zipfile.ZipFile(path) as zf:
        root = etree.fromstring(zf.read("project.qde"))
        files = {n: zf.read(n).decode() for n in zf.namelist() if n != "project.qde"}
    user = {u.get("guid"): u.get("name") for u in root.iterfind("q:Users/q:User", NS)}
    code: dict[str, tuple] = {}

    def walk(el, prefix):
        for c in el.iterfind("q:Code", NS):
            name = c.get("name")
            if fold_root and not prefix and name.startswith("Tensions ("):
                name = "Tensions"
            code[c.get("guid")] = (*prefix, name)
            walk(c, code[c.get("guid")])

    for top in root.iterfind("q:CodeBook/q:Codes", NS):
        walk(top, ())
    source = {s.get("guid"): s.get("name") for s in root.iterfind("q:Sources/q:TextSource", NS)}
    note_name = {n.get("guid"): n.get("name") for n in root.iterfind("q:Notes/q:Note", NS)}
    variable = {v.get("guid"): v.get("name") for v in root.iterfind("q:Variables/q:Variable", NS)}

    def text(el):
        ref = el.get("plainTextPath")
        if ref:
            return files["Sources/" + ref.removeprefix("internal://")]
        return el.findtext("q:PlainTextContent", None, NS)

    def codings(el):
        return Counter(
            (code[c.find("q:CodeRef", NS).get("targetGUID")], user.get(c.get("creatingUser")))
            for c in el.iterfind("q:Coding", NS)
        )

    def desc(el):
        return el.findtext("q:Description", None, NS)

    return {
        "project": (root.get("name"), desc(root)),
        "users": sorted(user.values()),
        "codes": sorted(
            (code[c.get("guid")], desc(c), c.get("isCodable"), c.get("color"))
            for c in root.iterfind("q:CodeBook//q:Code", NS)
        ),
        "variables": sorted(
            (v.get("name"), v.get("typeOfVariable"))
            for v in root.iterfind("q:Variables/q:Variable", NS)
        ),
        "cases": sorted(
            (
                c.get("name"),
                desc(c),
                sorted(
                    (variable[v[0].get("targetGUID")], v[1].text)
                    for v in c.iterfind("q:VariableValue", NS)
                ),
                sorted(source[r.get("targetGUID")] for r in c.iterfind("q:SourceRef", NS)),
            )
            for c in root.iterfind("q:Cases/q:Case", NS)
        ),
        "sources": sorted(
            (
                s.get("name"),
                desc(s),
                text(s),
                sorted(note_name[r.get("targetGUID")] for r in s.iterfind("q:NoteRef", NS)),
            )
            for s in root.iterfind("q:Sources/q:TextSource", NS)
        ),
        "selections": Counter(
            (
                source[s.getparent().get("guid")],
                int(s.get("startPosition")),
                int(s.get("endPosition")),
                tuple(sorted(codings(s).items())),
                tuple(sorted(note_name[r.get("targetGUID")] for r in s.iterfind("q:NoteRef", NS))),
                bool(s.get("creatingUser")) and bool(s.get("creationDateTime")),
            )
            for s in root.iterfind(SEL, NS)
        ),
        "notes": Counter(
            (
                n.get("name"),
                text(n),
                user[n.get("creatingUser")],
                desc(n),
                tuple(
                    (int(s.get("startPosition")), int(s.get("endPosition")))
                    for s in n.iterfind("q:PlainTextSelection", NS)
                ),
                tuple(sorted(codings(n).items())),
            )
            for n in root.iterfind("q:Notes/q:Note", NS)
        ),
        "links": sorted(
            (note_name.get(k.get("originGUID")), k.get("name"))
            for k in root.iterfind("q:Links/q:Link", NS)
        ),
        "sets": sorted(
            (
                s.get("name"),
                {
                    k: v
                    for k, v in json.loads(desc(s)).items()
                    if k not in ("closed_at", "frozen_at")
                },
                sorted(code[m.get("targetGUID")] for m in s.iterfind("q:MemberCode", NS)),
            )
            for s in root.iterfind("q:Sets/q:Set", NS)
        ),
    }


def _check_shapes(path: Path) -> etree._Element:
    """What peers need: coders and times on every selection and coding, notes they read."""
    with zipfile.ZipFile(path) as zf:
        root = etree.fromstring(zf.read("project.qde"))
        names = set(zf.namelist())
    assert XSD.validate(root), XSD.error_log
    users = {u.get("guid") for u in root.iterfind("q:Users/q:User", NS)}
    sels = root.findall(SEL, NS)
    assert sels
    for sel in sels:
        assert sel.get("creatingUser") in users and sel.get("creationDateTime")
        # nothing uncoded: another tool would show an empty annotation
        assert sel.findall("q:Coding", NS) or sel.findall("q:NoteRef", NS)
    for coding in root.iterfind(".//q:Coding", NS):
        assert coding.get("creatingUser") in users, etree.tostring(coding)
    for note in root.iterfind("q:Notes/q:Note", NS):
        anchors = note.findall("q:PlainTextSelection", NS)
        if anchors:  # an annotation: text inline, referenced from its source
            assert note.find("q:PlainTextContent", NS) is not None
            assert root.xpath(
                "q:Sources/q:TextSource[q:NoteRef/@targetGUID=$g]",
                namespaces=NS,
                g=note.get("guid"),
            )
        else:  # a journal: text in a file of the archive, not both
            assert note.find("q:PlainTextContent", NS) is None
            assert "Sources/" + note.get("plainTextPath").removeprefix("internal://") in names
    return root


# -- shapes -------------------------------------------------------------------------------------


def test_each_coder_has_their_own_coding_of_a_span(multilingual, tmp_path):
    root = _check_shapes(export_qdpx(multilingual, tmp_path / "ml.qdpx"))
    users = {u.get("guid"): u.get("name") for u in root.iterfind("q:Users/q:User", NS)}
    text = TURNS[0][1]
    start = text.index("🦜")
    # Two researchers' notes of one category on one span: two codings, one per coder.
    sel = next(s for s in root.iterfind(SEL, NS) if len(s.findall("q:NoteRef", NS)) == 2)
    coders = sorted(users[c.get("creatingUser")] for c in sel.iterfind("q:Coding", NS))
    assert coders == ["Zoë", "李华"]
    assert int(sel.get("endPosition")) - int(sel.get("startPosition")) == len("🦜 stayed")
    assert start > 0
    sets = {s.get("name") for s in root.iterfind("q:Sets/q:Set", NS)}
    assert sets == {"Step 1 closed"}
    assert root.get("name") == "Étude 多语 دراسة 🌱"


def test_the_demo_exports_in_the_shapes_peers_read(demo, tmp_path):
    root = _check_shapes(export_qdpx(demo, tmp_path / "demo.qdpx"))
    sets = {
        s.get("name"): json.loads(s.findtext("q:Description", None, NS))
        for s in root.iterfind("q:Sets/q:Set", NS)
    }
    assert {"Framework v1", "Framework v2", "Step 1 closed"} <= set(sets)
    v2 = demo.framework(2)
    assert [t["code"] for t in sets["Framework v2"]["tensions"]] == v2.codes
    assert {t["status"] for t in sets["Framework v2"]["tensions"]} == {
        t.status for t in v2.tensions
    }
    journals = [n for n in root.iterfind("q:Notes/q:Note", NS) if n.get("plainTextPath")]
    assert len(journals) == sum(1 for n in demo.notes() if not n.excerpts)


def test_an_early_second_study_exports_in_the_shapes_peers_read(second_study, tmp_path):
    st = second_study("recall", actor="quill")
    out = export_qdpx(st, tmp_path / "second.qdpx")
    with zipfile.ZipFile(out) as zf:
        root = etree.fromstring(zf.read("project.qde"))
    assert XSD.validate(root)
    assert all(s.get("creatingUser") for s in root.iterfind(SEL, NS))
    assert {n.get("creatingUser") for n in root.iterfind("q:Notes/q:Note", NS)} <= {
        u.get("guid") for u in root.iterfind("q:Users/q:User", NS)
    }


# -- round trip ---------------------------------------------------------------------------------


def _round_trip(st, tmp_path, lead: str, fold: bool = False) -> tuple[dict, dict, object]:
    """Export, import into an empty study (as its owner, naming the lead), the lead
    finishes the import (closes step 1 as it was), export again as the lead."""
    first = export_qdpx(st, tmp_path / "first.qdpx")
    fresh = Store(tmp_path / "fresh", actor="owner")
    try:
        summary = import_qdpx(fresh, first, lead=lead)
        assert fresh.step_closure() is None
        finish_qdpx_import(as_(fresh, lead))
        again = export_qdpx(as_(fresh, lead), tmp_path / "again.qdpx")
        return _canon(first, fold), _canon(again, fold), summary
    finally:
        fresh.close()


def test_round_trip_of_a_multilingual_study_is_lossless(multilingual, tmp_path):
    before, after, summary = _round_trip(multilingual, tmp_path, "Zoë")
    assert summary.lead == "Zoë"
    assert summary.warnings == [
        "step 1 was closed in the exported study; Zoë must close it here "
        "(coprod-nb close-recall) so the imported notes are visible to the team"
    ]
    for key in before:
        assert after[key] == before[key], key


def test_round_trip_of_the_demo_keeps_every_element(demo, tmp_path):
    lead = next(r.name for r in demo.researchers() if r.lead)
    before, after, summary = _round_trip(demo, tmp_path, lead, fold=True)
    assert any("are frozen again when the lead finishes" in w for w in summary.warnings)
    for key in before:  # the framework Sets too, each tension's origin (merges) included
        assert after[key] == before[key], key
    assert len(after["notes"]) == len(before["notes"]) > 0


# -- the independent reader ---------------------------------------------------------------------


def test_pyrefiqda_reads_every_selection_coding_and_note(multilingual, tmp_path):
    from pyrefiqda import RefiProject

    out = export_qdpx(multilingual, tmp_path / "ml.qdpx")
    project = RefiProject.load(out, extract_dir=str(tmp_path / "x"))
    users = {u.guid: u.name for u in project.users.user}
    assert sorted(users.values()) == ["Zoë", "李华"]
    (source,) = project.sources.text_source
    sels = source.plain_text_selection
    text = (
        tmp_path / "x" / "Sources" / source.plain_text_path.removeprefix("internal://")
    ).read_text()
    got = Counter()
    for s in sels:
        assert users[s.creating_user]
        for c in s.coding:
            got[(text[int(s.start_position) : int(s.end_position)], users[c.creating_user])] += 1
    assert got[("🦜 stayed", "Zoë")] == 1 and got[("🦜 stayed", "李华")] == 1
    assert len(sels) == 5
    notes = project.notes.note
    assert len(notes) == 4
    assert {users[n.creating_user] for n in notes} == {"Zoë", "李华"}
    assert sum(1 for n in notes if n.plain_text_content) == 3


# -- positions ----------------------------------------------------------------------------------


def test_positions_are_code_points_after_astral_characters(multilingual, tmp_path):
    out = export_qdpx(multilingual, tmp_path / "ml.qdpx")
    with zipfile.ZipFile(out) as zf:
        root = etree.fromstring(zf.read("project.qde"))
        (src,) = root.iterfind("q:Sources/q:TextSource", NS)
        text = zf.read("Sources/" + src.get("plainTextPath").removeprefix("internal://")).decode()
    spans = {
        text[int(s.get("startPosition")) : int(s.get("endPosition"))]
        for s in src.iterfind("q:PlainTextSelection", NS)
    }
    assert spans == {"🦜 stayed", "🤝 很久", "الشراكة مهمة 🙂", "cafe\u0301", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢"}
    start = int(
        next(
            s
            for s in src.iterfind("q:PlainTextSelection", NS)
            if text[int(s.get("startPosition"))] == "𝔘"
        ).get("startPosition")
    )
    # a reader counting UTF-16 units would land elsewhere: the emoji before count twice
    assert len(text[:start].encode("utf-16-le")) // 2 > start


# -- what other tools write ---------------------------------------------------------------------

G = "{:08x}-0000-4000-8000-{:012x}".format


def _qdpx(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _project_xml(sources: str, notes: str = "", name: str = "Harbour study") -> str:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="{name}" origin="Some tool 1.0">
<Users><User guid="{G(1, 1)}" name="Mara"/></Users>
<CodeBook><Codes>
<Code guid="{G(2, 1)}" name="Tides" isCodable="true" color="#336699"/>
</Codes></CodeBook>
<Sources>{sources}</Sources>{notes}
</Project>"""


def test_a_qde_named_after_the_project_and_relative_paths_are_read(store, tmp_path):
    text = "The quay opened at dawn.\n\nNets were mended."
    sources = f"""<TextSource guid="{G(3, 1)}" name="Quay" plainTextPath="quay.txt">
<PlainTextSelection guid="{G(4, 1)}" startPosition="4" endPosition="8" creatingUser="{G(1, 1)}">
<Coding guid="{G(5, 1)}" creatingUser="{G(1, 1)}"><CodeRef targetGUID="{G(2, 1)}"/></Coding>
</PlainTextSelection>
<PlainTextSelection guid="{G(4, 2)}" startPosition="24" endPosition="26"/>
</TextSource>"""
    notes = f"""<Notes><Note guid="{G(6, 1)}" name="Memo" creatingUser="{G(1, 1)}" plainTextPath="internal://memo.txt"/></Notes>"""
    path = _qdpx(
        tmp_path / "Harbour study.qdpx",
        {
            "Harbour study.qde": _project_xml(sources, notes),
            "Sources/quay.txt": text,
            "Sources/memo.txt": "Tide memo 🌊",
        },
    )
    summary = import_qdpx(store, path)
    assert summary.sources == ["Quay"] and summary.selections == 1
    assert any("covers only blank text" in w for w in summary.warnings)
    assert [n["text"] for n in summary.notes] == ["Tide memo 🌊"]


def test_several_qde_files_are_refused(store, tmp_path):
    path = _qdpx(tmp_path / "two.qdpx", {"a.qde": _project_xml(""), "b.qde": _project_xml("")})
    with pytest.raises(InvalidInput, match="several .qde"):
        import_qdpx(store, path)


def test_a_bad_source_is_skipped_with_skip_bad(store, tmp_path):
    sources = f"""<TextSource guid="{G(3, 1)}" name="Good">
<PlainTextContent>Boats came in.</PlainTextContent></TextSource>
<TextSource guid="{G(3, 2)}" name="Bad" plainTextPath="internal://missing.txt"/>"""
    path = _qdpx(tmp_path / "p.qdpx", {"project.qde": _project_xml(sources)})
    with pytest.raises(InvalidInput, match="Bad"):
        import_qdpx(store, path)
    assert store.transcripts() == []
    summary = import_qdpx(store, path, skip_bad=True)
    assert summary.sources == ["Good"]
    assert any("Bad" in w and "--skip-bad" in w for w in summary.warnings)


def test_lead_must_be_a_user(store, tmp_path):
    path = _qdpx(tmp_path / "p.qdpx", {"project.qde": _project_xml("")})
    with pytest.raises(InvalidInput, match="--lead 'Nobody' names no user"):
        import_qdpx(store, path, lead="Nobody")
    summary = import_qdpx(store, path)
    assert summary.lead == "Mara"
    assert [r.name for r in store.researchers() if r.lead] == ["Mara"]


# -- fixtures in the shapes other tools write (tests/data/qdpx, fictional) -----------------

DATA = Path(__file__).parent / "data" / "qdpx"
NOT_KEPT = {  # selection descriptions, source variables, project memos, Sets are kept now
    "qualcoder": None,
    "maxqda": None,
    "nvivo": None,
    "atlasti": "not kept: 1 Graph on Graphs",
}


def _zip_folder(folder: Path, dest: Path) -> Path:
    with zipfile.ZipFile(dest, "w") as zf:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                zf.write(f, f.relative_to(folder).as_posix())
    return dest


@pytest.mark.parametrize("tool", sorted(NOT_KEPT))
def test_a_peer_projects_elements_are_kept_or_reported(store, tmp_path, tool):
    folder = DATA / tool
    (qde,) = folder.glob("*.qde")
    root = etree.parse(str(qde)).getroot()
    assert XSD.validate(root), XSD.error_log
    summary = import_qdpx(store, _zip_folder(folder, tmp_path / f"{tool}.qdpx"))

    sources = root.findall("q:Sources/q:TextSource", NS)
    assert sorted(summary.sources) == sorted(s.get("name") for s in sources)
    assert summary.selections == len(root.findall(SEL, NS))
    codes = root.findall("q:CodeBook//q:Code", NS)
    assert len(summary.codes) == len(codes)
    colours = {c.get("guid").lower(): c.get("color") for c in codes if c.get("color")}
    assert {c["guid"]: c["color"] for c in summary.codes if "color" in c} == colours
    assert len(summary.codings) == len(root.findall(SEL + "/q:Coding", NS))
    notes = root.findall("q:Notes/q:Note", NS)
    assert len(summary.notes) == len(notes) and all(n["text"] for n in summary.notes)
    users = {u.get("name") for u in root.iterfind("q:Users/q:User", NS)}
    assert {r.name for r in store.researchers()} == users
    assert summary.lead in users
    sets = root.findall("q:Sets/q:Set", NS)
    reported = [w for w in summary.warnings if w.startswith(("not kept", f"{len(sets)} Set"))]
    assert reported == ([NOT_KEPT[tool]] if NOT_KEPT[tool] else [])
    assert len(store.code_sets()) == len(sets)
    # every imported selection lands on the same words
    texts = {}
    with zipfile.ZipFile(tmp_path / f"{tool}.qdpx") as zf:
        for s in sources:
            texts[s.get("name")] = zf.read(
                "Sources/" + s.get("plainTextPath").removeprefix("internal://")
            ).decode()
    stored = {t.title: t.text for t in store.transcripts()}
    got = Counter(
        stored[t.title][e.start : e.end]
        for t in store.transcripts()
        for e in as_(store, None).excerpts(t.id)
    )
    want_words = Counter(
        texts[s.getparent().get("name")][int(s.get("startPosition")) : int(s.get("endPosition"))]
        for s in root.iterfind(SEL, NS)
    )
    assert got == want_words


# -- on the command line ------------------------------------------------------------------------


def test_cli_refuses_a_lead_who_is_no_user_and_skips_bad_sources(tmp_path, capsys):
    study = tmp_path / "study"
    assert run_cli(["init", str(study), "--name", "Harbour"], capsys)[0] == 0
    fixture = _zip_folder(DATA / "nvivo", tmp_path / "van.qdpx")
    assert_refused(
        ["import", str(study), str(fixture), "--lead", "Nobody"],
        study,
        capsys,
        names=("van.qdpx", "--lead 'Nobody'", "names no user"),
    )
    sources = f"""<TextSource guid="{G(3, 1)}" name="Good">
<PlainTextContent>Boats came in.</PlainTextContent></TextSource>
<TextSource guid="{G(3, 2)}" name="Bad" plainTextPath="internal://missing.txt"/>"""
    bad = _qdpx(tmp_path / "bad.qdpx", {"project.qde": _project_xml(sources)})
    assert_refused(
        ["import", str(study), str(bad)], study, capsys, names=("bad.qdpx", "Bad", "names no file")
    )
    status, out, err, _ = run_cli(["import", str(study), str(bad), "--skip-bad"], capsys)
    assert status == 1 and "Traceback" not in out + err
    assert "imported 1 source," in out and "'Bad'" in out and "--skip-bad" in out
    assert "lead: Mara" in out


def test_a_late_second_study_round_trips_on_the_command_line(second_study, tmp_path, capsys):
    st = second_study("workshop", actor="rowan")
    first = export_qdpx(st, tmp_path / "gull.qdpx")
    st.close()
    fresh = tmp_path / "fresh"
    assert run_cli(["init", str(fresh), "--name", "x"], capsys)[0] == 0
    status, out, err, _ = run_cli(
        ["import", str(fresh), str(first), "--lead", "Rowan", "--as", "owner"], capsys
    )
    assert status == 0, err
    assert "lead: Rowan" in out and "Rowan must close it here" in out
    status, out, err, _ = run_cli(["close-recall", str(fresh), "--as", "Rowan"], capsys)
    assert status == 0, err
    with Store(fresh, actor="Rowan") as again:
        second = export_qdpx(again, tmp_path / "again.qdpx")
    before, after = _canon(first, True), _canon(second, True)
    for key in set(before) - {"sets"}:
        assert after[key] == before[key], key
    assert before["notes"] and before["selections"]
