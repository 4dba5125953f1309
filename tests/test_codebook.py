"""A codebook from other QDA tools (issue 16, item 2): kept in the study, shown, searched,
and exported again unchanged."""

from __future__ import annotations

import json
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from alembic import command
from lxml import etree
from sqlalchemy import select

import coprod_nb.exchange
from coprod_nb.analysis import codebook, coded_excerpts
from coprod_nb.errors import Forbidden, InvalidInput, NotFound
from coprod_nb.exchange.refi_qda import export_qdpx, import_qdpx
from coprod_nb.storage import Store
from coprod_nb.storage.database import _alembic_config
from coprod_nb.storage.models import Study
from coprod_nb.widgets import CodebookView
from coprod_nb.widgets.codebook import EMPTY
from tests.acting import as_, as_lead
from tests.test_team_postgres import team  # noqa: F401, F811  (the fixture of roles)

NS = {"q": "urn:QDA-XML:project:1.0"}
DATA = Path(__file__).parent / "data" / "qdpx"
TOOLS = ["atlasti", "codebook", "maxqda", "nvivo", "qualcoder"]
XSD = etree.XMLSchema(
    etree.parse(str(Path(coprod_nb.exchange.__file__).parent / "schemas" / "Project.xsd"))
)
SCRIPT = "<script>alert(1)</script>"


def _zip(folder: Path, dest: Path) -> Path:
    with zipfile.ZipFile(dest, "w") as zf:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                zf.write(f, f.relative_to(folder).as_posix())
    return dest


def _ours(name: str) -> bool:
    return name == "Note categories" or name.startswith("Tensions (")


def _codebook_of(path: Path) -> dict:
    """The codebook parts of a .qdpx as comparable values: GUIDs replaced by what they
    name (code paths, source names, user names), positions by the words they select."""
    with zipfile.ZipFile(path) as zf:
        (qde,) = [n for n in zf.namelist() if n.endswith(".qde")]
        root = etree.fromstring(zf.read(qde))
        names = set(zf.namelist())

        def read(ref: str) -> str:
            ref = ref.removeprefix("internal://")
            return zf.read(f"Sources/{ref}" if f"Sources/{ref}" in names else ref).decode()

        texts = {
            s.get("guid").lower(): read(s.get("plainTextPath"))
            for s in root.iterfind("q:Sources/q:TextSource", NS)
        }
        notes = {
            n.get("guid").lower(): n.findtext("q:PlainTextContent", None, NS)
            if n.get("plainTextPath") is None
            else read(n.get("plainTextPath"))
            for n in root.iterfind("q:Notes/q:Note", NS)
        }
    g = str.lower
    user = {g(u.get("guid")): u.get("name") for u in root.iterfind("q:Users/q:User", NS)}
    code: dict[str, tuple] = {}
    codes = set()
    code_memos = set()

    def walk(el, prefix):
        for c in el.iterfind("q:Code", NS):
            if not prefix and _ours(c.get("name")):
                continue
            code[g(c.get("guid"))] = path = (*prefix, c.get("name"))
            codes.add(
                (path, c.get("color"), c.findtext("q:Description", "", NS), c.get("isCodable"))
            )
            code_memos.update(
                (path, notes[g(r.get("targetGUID"))]) for r in c.iterfind("q:NoteRef", NS)
            )
            walk(c, path)

    for top in root.iterfind("q:CodeBook/q:Codes", NS):
        walk(top, ())
    source = {g(s.get("guid")): s.get("name") for s in root.iterfind("q:Sources/q:TextSource", NS)}
    codings, selection_memos, source_memos, values = Counter(), set(), set(), set()
    guids = set()
    variable = {
        g(v.get("guid")): (v.get("name"), v.get("typeOfVariable"))
        for v in root.iterfind("q:Variables/q:Variable", NS)
    }
    for s in root.iterfind("q:Sources/q:TextSource", NS):
        name, text = s.get("name"), texts[g(s.get("guid"))]
        desc = s.findtext("q:Description", "", NS)
        lines = desc.split("\n")
        while lines and lines[-1].startswith(("Recorded: ", "Layout: plain text")):
            lines.pop()  # ours: the recording date and the plain layout, after the memo
        desc = "\n".join(lines).rstrip("\n")
        if desc:
            source_memos.add((name, desc))
        for c in s.iterfind("q:Coding", NS):
            target = code.get(g(c.find("q:CodeRef", NS).get("targetGUID")))
            if target:
                codings[(name, None, target, user[g(c.get("creatingUser"))])] += 1
                guids.add(g(c.get("guid")))
        for sel in s.iterfind("q:PlainTextSelection", NS):
            words = text[int(sel.get("startPosition")) : int(sel.get("endPosition"))]
            if sel.findtext("q:Description", None, NS):
                selection_memos.add((name, words, sel.findtext("q:Description", "", NS)))
            for c in sel.iterfind("q:Coding", NS):
                target = code.get(g(c.find("q:CodeRef", NS).get("targetGUID")))
                if target:
                    when = c.get("creationDateTime")
                    codings[(name, words, target, user[g(c.get("creatingUser"))], when)] += 1
                    guids.add(g(c.get("guid")))
        for vv in s.iterfind("q:VariableValue", NS):
            var = variable[g(vv.find("q:VariableRef", NS).get("targetGUID"))]
            values.add((name, *var, "".join(vv.itertext()).strip()))
    for case in root.iterfind("q:Cases/q:Case", NS):
        for vv in case.iterfind("q:VariableValue", NS):
            var = variable[g(vv.find("q:VariableRef", NS).get("targetGUID"))]
            values.add((case.get("name"), *var, "".join(vv.itertext()).strip()))
    sets = set()
    for st in root.iterfind("q:Sets/q:Set", NS):
        desc = st.findtext("q:Description", "", NS)
        if desc.startswith("{") and "coprod_nb" in json.loads(desc):
            continue  # ours: framework versions, the step-1 closure
        sets.add(
            (
                st.get("name"),
                desc,
                frozenset(code[g(m.get("targetGUID"))] for m in st.iterfind("q:MemberCode", NS)),
                frozenset(
                    source[g(m.get("targetGUID"))] for m in st.iterfind("q:MemberSource", NS)
                ),
            )
        )
    project_memos = sorted(notes[g(r.get("targetGUID"))] for r in root.iterfind("q:NoteRef", NS))
    return {
        "users": sorted(user.values()),
        "codes": codes,
        "codings": codings,
        "coding_guids": guids,
        "sets": sets,
        "project_memos": project_memos,
        "code_memos": code_memos,
        "selection_memos": selection_memos,
        "source_memos": source_memos,
        "variables": set(variable.values()),
        "values": values,
    }


def _import(store, tool: str, tmp_path: Path):
    return import_qdpx(store, _zip(DATA / tool, tmp_path / f"{tool}.qdpx"))


# -- import keeps, export writes back -------------------------------------------------------


@pytest.mark.parametrize("tool", TOOLS)
def test_a_peer_codebook_is_exported_again_unchanged(store, tmp_path, tool):
    original = _zip(DATA / tool, tmp_path / "original.qdpx")
    summary = import_qdpx(store, original)
    assert not any("Set(s) not kept" in w for w in summary.warnings)
    # exported by the lead: a project memo that is also the lead's note is theirs to see
    first = export_qdpx(as_lead(store), tmp_path / "first.qdpx")
    with zipfile.ZipFile(first) as zf:
        assert XSD.validate(etree.fromstring(zf.read("project.qde"))), XSD.error_log
    want, got = _codebook_of(original), _codebook_of(first)
    for key in want:
        if key == "users":  # every user is a researcher, and each is exported
            assert set(want[key]) <= set(got[key]), key
        else:
            assert got[key] == want[key], key
    assert want["codes"] and want["codings"]

    # into an empty study and out again: the same again
    with Store(tmp_path / "again", actor="tester") as again:
        import_qdpx(again, first)
        second = export_qdpx(as_lead(again), tmp_path / "second.qdpx")
    assert _codebook_of(second) == got


def test_the_rich_fixture_keeps_every_kind_of_element(store, tmp_path):
    summary = _import(store, "codebook", tmp_path)
    assert not [w for w in summary.warnings if w.startswith("not kept")]
    book = codebook(store)
    assert list(book["path"]) == [
        "Origins",
        "Origins / People",
        "Origins / Tools & tea",
        "Governance",
        "Governance / Meetings",
        "Governance / Meetings / Records 记录",
        "Fairness",
        "Not yet used",
    ]
    row = book.set_index("path").loc["Governance / Meetings / Records 记录"]
    assert (row.colour, row.description, row.codings) == ("#FF9933", "Minutes, or their absence", 2)
    assert row.coders == "Émile, 李静"
    assert book.set_index("code").loc["Not yet used", "codings"] == 0
    assert not store.code("Origins").codable
    # two coders on one span stay two codings
    people = coded_excerpts(store, code="People")
    assert list(people["text"]) == ["Three neighbours"] * 2
    assert sorted(people["coder"]) == ["Noa K.", "Émile"]
    # a code on the whole source
    (whole,) = [k for k in store.codings(code="Governance") if k.start is None]
    assert store.transcript(whole.transcript_id).title == "Noor interview"
    kinds = Counter(m.kind for m in store.memos())
    assert kinds == {"selection": 3, "source": 1, "project": 1, "code": 1}
    (sel_memo,) = [m for m in store.memos("selection") if m.text == "Tea again 🍵"]
    text = store.transcript(sel_memo.transcript_id).text
    assert text[sel_memo.start : sel_memo.end] == "one shovel, and a lot of tea"
    assert {(v.name, v.type) for v in store.variables()} == {
        ("Site", "Text"),
        ("Interview date", "Date"),
        ("Plots", "Integer"),
    }
    titles = {t.id: t.title for t in store.transcripts()}
    assert {(titles[t], n, v) for n, t, v in store.variable_values()} == {
        ("Noor interview", "Site", "North yard"),
        ("Noor interview", "Interview date", "2024-04-12"),
        ("Sami interview", "Site", "South gate"),
    }
    ((gov, codes, sources), (every, codes2, sources2)) = store.code_sets()
    assert (gov.name, every.name) == ("Governance reading", "Everyday")
    assert [titles[t] for t in sources] == ["Noor interview"] and sources2 == []
    assert {u.name for u in store.qda_users()} == {r.name for r in store.researchers()}
    assert all(u.researcher_id for u in store.qda_users())


def test_coded_excerpts_filter_by_code_coder_and_words(store, tmp_path):
    _import(store, "codebook", tmp_path)
    gov = coded_excerpts(store, code="Governance", subcodes=True)
    assert set(gov["code"]) == {"Governance", "Meetings", "Records 记录"}
    assert len(coded_excerpts(store, code="Governance")) == 1  # the whole source only
    mine = coded_excerpts(store, coder="李静")
    assert sorted(mine["text"]) == sorted(
        ["委员会 met on Sundays", "nobody wrote anything down", "café meetings moved online 🙂"]
    )
    assert set(mine["coder"]) == {"李静"}
    hit = coded_excerpts(store, query="CAFÉ online")
    assert list(hit["text"]) == ["café meetings moved online 🙂"] * 2
    assert coded_excerpts(store, query="nothing like this").empty
    both = coded_excerpts(store, code="Meetings", coder="Émile", query="online")
    assert list(both[["code", "coder"]].itertuples(index=False, name=None)) == [
        ("Meetings", "Émile")
    ]
    with pytest.raises(NotFound):
        coded_excerpts(store, code="No such code")
    assert list(coded_excerpts(store).columns) == [
        "transcript",
        "partnership",
        "start",
        "end",
        "text",
        "code",
        "path",
        "coder",
        "coding_id",
    ]


def test_pyrefiqda_reads_every_coding_with_its_user(store, tmp_path):
    from pyrefiqda import RefiProject

    _import(store, "codebook", tmp_path)
    out = export_qdpx(store, tmp_path / "out.qdpx")
    project = RefiProject.load(out, extract_dir=str(tmp_path / "x"))
    users = {u.guid: u.name for u in project.users.user}
    got = Counter()
    for source in project.sources.text_source:
        text = (
            tmp_path / "x" / "Sources" / source.plain_text_path.removeprefix("internal://")
        ).read_text()
        for s in source.plain_text_selection:
            for c in s.coding:
                got[
                    (text[int(s.start_position) : int(s.end_position)], users[c.creating_user])
                ] += 1
        for c in source.coding:
            got[(None, users[c.creating_user])] += 1
    want = Counter(
        (r.text if r.start == r.start and r.start is not None else None, r.coder)
        for r in coded_excerpts(store).itertuples()
    )
    assert sum(got.values()) == len(store.codings()) == 10
    assert got == want


# -- access ------------------------------------------------------------------------------


def test_a_project_memo_that_is_a_researcher_s_note_stays_blind(store, tmp_path):
    summary = _import(store, "nvivo", tmp_path)
    (note,) = summary.notes
    assert note["note_id"] and note["author"] == "Sorrel Team"
    (memo,) = store.memos("project")
    assert memo.note_id == note["note_id"] and memo.text == ""  # no copy of the note
    out = export_qdpx(store, tmp_path / "owner.qdpx")  # the owner: step 1 open, no notes
    with zipfile.ZipFile(out) as zf:
        blob = b"".join(zf.read(n) for n in zf.namelist())
    assert b"winter timetable" not in blob
    assert _codebook_of(out)["project_memos"] == []
    mine = _codebook_of(export_qdpx(as_lead(store), tmp_path / "lead.qdpx"))
    assert mine["project_memos"] == ["Ask about winter timetable."]


def test_codings_are_team_material_and_only_the_team_writes(store, tmp_path):
    _import(store, "codebook", tmp_path)
    assert store.step_closure() is None  # step 1 is open
    lead = next(r for r in store.researchers() if r.lead)
    # (a name without upper-case letters: SQLite's lower() folds ASCII only)
    other = next(r for r in store.researchers() if r.name == "李静")
    # a colleague sees every imported coding while step 1 is open
    assert len(as_(store, other.name).codings()) == len(store.codings()) == 10
    # a researcher's own coding is theirs
    tid = store.transcripts()[0].id
    k = as_(store, other.name).add_coding("Fairness", tid, 0, 11)
    assert coded_excerpts(store, code="Fairness", coder=other.name)["coding_id"].tolist() == [k.id]
    new = as_(store, lead.name).add_code("Later", parent="Fairness", color="#123456")
    assert codebook(store).set_index("code").loc["Later", "path"] == "Fairness / Later"
    assert new.guid
    # someone not on the team writes nothing
    before = (len(store.codes()), len(store.codings()), len(store.transcripts()))
    with pytest.raises(Forbidden, match="only a researcher of the study team"):
        as_(store, "stranger").add_code("Nope")
    with pytest.raises(Forbidden, match="only a researcher of the study team"):
        as_(store, "stranger").add_coding("Fairness", tid)
    assert (len(store.codes()), len(store.codings()), len(store.transcripts())) == before
    # an import loads the study like its transcripts: the owner may run it; the coders
    # stay the project's users
    import_qdpx(as_(store, "owner"), _zip(DATA / "maxqda", tmp_path / "m.qdpx"))
    assert coded_excerpts(store, code="Exchange")["coder"].tolist() == ["KM"]
    with pytest.raises(InvalidInput, match="2 codes are called 'Meetings'; name one by its GUID"):
        coded_excerpts(store, code="Meetings")
    (event,) = [e for e in store.history("qda_codebook") if "m.qdpx" in e.detail]
    assert event.actor == "owner"
    with pytest.raises(InvalidInput, match="outside the transcript"):
        as_(store, lead.name).add_coding("Fairness", tid, 0, 10**6)


# -- on the demo and the second study ---------------------------------------------------------


def test_the_demo_has_an_empty_codebook_and_keeps_one_it_imports(demo, tmp_path):
    assert codebook(demo).empty and coded_excerpts(demo).empty
    view = CodebookView(demo)
    assert EMPTY in view.status.value and view.codes.layout.display == "none"
    lead = as_lead(demo)
    import_qdpx(lead, _zip(DATA / "codebook", tmp_path / "garden.qdpx"))
    out = export_qdpx(lead, tmp_path / "demo.qdpx")
    with zipfile.ZipFile(out) as zf:
        assert XSD.validate(etree.fromstring(zf.read("project.qde"))), XSD.error_log
    got = _codebook_of(out)
    want = _codebook_of(_zip(DATA / "codebook", tmp_path / "orig.qdpx"))
    for key in ("codes", "codings", "sets", "code_memos", "selection_memos", "source_memos"):
        assert got[key] == want[key], key
    assert set(want["values"]) <= got["values"]
    view.refresh()
    assert "8 codes, 10 codings" in view.status.value


@pytest.mark.parametrize("stage", ["recall", "workshop"])
def test_the_second_study_round_trips_its_imported_codebook(second_study, tmp_path, stage):
    st = second_study(stage, actor="rowan")
    import_qdpx(st, _zip(DATA / "qualcoder", tmp_path / "ferry.qdpx"))
    assert len(st.codings()) == 3
    first = export_qdpx(st, tmp_path / "gull.qdpx")
    with Store(tmp_path / "fresh", actor="owner") as fresh:
        import_qdpx(fresh, first, lead="Rowan")
        second = export_qdpx(fresh, tmp_path / "again.qdpx")
        assert sorted(coded_excerpts(fresh)["coder"]) == ["ivo_p", "ivo_p", "wren_c"]
    a, b = _codebook_of(first), _codebook_of(second)
    assert a == b and a["codings"]


# -- the view --------------------------------------------------------------------------------


def test_the_view_shows_a_code_s_excerpts_escaped(second_study):
    st = second_study("joint", actor="rowan")
    tr = st.transcripts()[0]
    code = st.add_code(SCRIPT, color="#ABCDEF")
    st.add_code("child", parent=code.guid)
    st.add_coding(code.guid, tr.id, 0, 12)
    view = CodebookView(st)
    assert "2 codes, 1 coding" in view.status.value
    assert [label.strip("\xa0") for label, _ in view.codes.options] == [
        f"{SCRIPT} (1)",
        "child (0)",
    ]
    assert view.codes.value == code.guid
    assert "&lt;script&gt;" in view.excerpts.value and "<script>" not in view.excerpts.value
    assert "1 coded excerpt" in view.excerpts.value
    view.codes.value = view.codes.options[1][1]
    assert "0 coded excerpts" in view.excerpts.value
    view.codes.value = code.guid
    view.query.value = "no such words at all"
    assert "0 coded excerpts" in view.excerpts.value
    view.query.value = ""
    assert view.coder.options[1:] == ("Rowan",) or "Rowan" in view.coder.options
    view.coder.value = view.coder.options[1]
    assert "1 coded excerpt" in view.excerpts.value


# -- migration 0009 --------------------------------------------------------------------------


def _migrate(st, how, rev):
    cfg = _alembic_config()
    with st.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        how(cfg, rev)


def test_0009_moves_the_old_settings_into_the_tables_and_back(store, tmp_path):
    _import(store, "codebook", tmp_path)
    before_codes = list(codebook(store)[["path", "colour", "description"]].itertuples(index=False))
    before = Counter(
        coded_excerpts(store)[["transcript", "text", "code", "coder"]].itertuples(index=False)
    )
    _migrate(store, command.downgrade, "0008")
    with store.session(write=False) as s:
        settings = s.scalars(select(Study)).one().settings
    assert len(settings["qdpx_codes"]) == 8 and len(settings["qdpx_codings"]) == 10
    _migrate(store, command.upgrade, "head")
    with store.session(write=False) as s:
        assert "qdpx_codes" not in s.scalars(select(Study)).one().settings
    assert list(codebook(store)[["path", "colour", "description"]].itertuples(index=False)) == (
        before_codes
    )
    after = Counter(
        coded_excerpts(store)[["transcript", "text", "code", "coder"]].itertuples(index=False)
    )
    assert after == before


# -- researchers' database roles (PostgreSQL) ---------------------------------------------------


@pytest.mark.postgres
def test_researchers_roles_write_and_read_the_codebook(team, tmp_path):  # noqa: F811
    moss, fern = team.store("Moss"), team.store("Fern")
    try:
        code = moss.add_code("Childcare", color="#00AA00")
        k = moss.add_coding(code.guid, team.transcript, 0, 10)
        assert fern.step_closure() is None  # step 1 open: notes blind, the codebook not
        (seen,) = fern.codings()
        assert (seen.guid, seen.start, seen.end) == (k.guid, 0, 10)
        assert coded_excerpts(fern)["coder"].tolist() == ["Moss"]
        fern.add_code("Chairing", parent="Childcare")
        assert codebook(moss)["path"].tolist() == ["Childcare", "Childcare / Chairing"]
        got = _codebook_of(export_qdpx(fern, tmp_path / "fern.qdpx"))
        assert got["codes"] == {
            (("Childcare",), "#00AA00", "", "true"),
            (("Childcare", "Chairing"), None, "", "true"),
        }
        assert len(got["codings"]) == 1
    finally:
        moss.close()
        fern.close()


# -- a large codebook -------------------------------------------------------------------------


def _large_project(tmp_path: Path, roots: int = 7, children: int = 300, codings: int = 1500):
    """A MAXQDA-shaped project of ``roots + children`` codes (307: the size that came back
    as 5 before the codebook was kept) and many codings by three users."""
    import uuid

    ns = uuid.UUID("7d1f0c3e-9a2b-4c5d-8e6f-0a1b2c3d4e5f")

    def g(*parts):
        return str(uuid.uuid5(ns, "/".join(map(str, parts)))).upper()

    lines = [f"Line {i}: the allotment board met again, number {i}." for i in range(codings)]
    text = "\n".join(lines) + "\n"
    users = [g("user", i) for i in range(3)]
    tree = []
    for r in range(roots):
        kids = "".join(
            f'<Code guid="{g("code", r, c)}" name="Code {r}.{c}" isCodable="true" '
            f'color="#{(r * 37 + c) % 256:02X}{c % 256:02X}80"/>'
            for c in range(r, children, roots)
        )
        tree.append(f'<Code guid="{g("root", r)}" name="Theme {r}" isCodable="false">{kids}</Code>')
    flat = [(r, c) for r in range(roots) for c in range(r, children, roots)]
    sels, pos = [], 0
    for i, line in enumerate(lines):
        r, c = flat[i % len(flat)]
        sels.append(
            f'<PlainTextSelection guid="{g("sel", i)}" startPosition="{pos}" '
            f'endPosition="{pos + len(line)}" creatingUser="{users[i % 3]}">'
            f'<Coding guid="{g("coding", i)}" creatingUser="{users[i % 3]}">'
            f'<CodeRef targetGUID="{g("code", r, c)}"/></Coding></PlainTextSelection>'
        )
        pos += len(line) + 1
    src = g("src")
    xml = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<Project xmlns="urn:QDA-XML:project:1.0" name="Large" origin="MAXQDA 24">'
        "<Users>"
        + "".join(f'<User guid="{u}" name="Coder {i}"/>' for i, u in enumerate(users))
        + "</Users><CodeBook><Codes>"
        + "".join(tree)
        + f'</Codes></CodeBook><Sources><TextSource guid="{src}" name="Board" '
        f'plainTextPath="internal://{src}.txt">'
        + "".join(sels)
        + "</TextSource></Sources></Project>"
    )
    path = tmp_path / "large.qdpx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("project.qde", xml)
        zf.writestr(f"Sources/{src}.txt", text)
    return path


def test_a_307_code_codebook_comes_back_whole(store, tmp_path):
    original = _large_project(tmp_path)
    summary = import_qdpx(store, original)
    assert len(store.codes()) == len(summary.codes) == 307
    assert len(store.codings()) == 1500
    out = export_qdpx(as_lead(store), tmp_path / "out.qdpx")
    want, got = _codebook_of(original), _codebook_of(out)
    assert len(got["codes"]) == 307 and got["codes"] == want["codes"]
    assert got["codings"] == want["codings"] and sum(got["codings"].values()) == 1500
    assert got["coding_guids"] == want["coding_guids"]
    book = codebook(store)
    assert book["codings"].sum() == 1500
    assert set(book.loc[book["codings"] > 0, "coders"]) <= {
        "Coder 0",
        "Coder 0, Coder 1",
        "Coder 0, Coder 1, Coder 2",
        "Coder 0, Coder 2",
        "Coder 1",
        "Coder 1, Coder 2",
        "Coder 2",
    }


def test_a_code_without_a_guid_is_reported_and_its_children_kept(store, tmp_path):
    qde = (DATA / "atlasti" / "Choir move.qde").read_text(encoding="utf-8")
    child = "ABCDEF01-2345-5678-9ABC-DEF012345678"
    qde = qde.replace(
        "</Codes>",
        f'<Code name="No guid" isCodable="true"><Code guid="{child}" name="Kept" '
        'isCodable="true"/></Code></Codes>',
    )
    folder = tmp_path / "atlas"
    (folder / "Sources").mkdir(parents=True)
    (folder / "Choir move.qde").write_text(qde, encoding="utf-8")
    for f in (DATA / "atlasti" / "Sources").iterdir():
        (folder / "Sources" / f.name).write_bytes(f.read_bytes())
    summary = import_qdpx(store, _zip(folder, tmp_path / "a.qdpx"))
    assert "not kept: 1 Code without a guid (nothing can code it)" in summary.warnings
    assert [c.name for c in store.codes()] == ["Loss", "Kept"]
    assert store.code("Kept").parent_id is None


def test_a_plain_document_s_memo_and_layout_both_come_back(store, tmp_path):
    qde = (DATA / "atlasti" / "Choir move.qde").read_text(encoding="utf-8")
    memo = "Typed up from the choir's notebook.\nSecond line: kept."
    qde = qde.replace(
        'creatingUser="072A3986-04CA-576E-9EC3-2896A2BB1D4A">\n<PlainTextSelection',
        f'creatingUser="072A3986-04CA-576E-9EC3-2896A2BB1D4A"><Description>{memo}</Description>'
        "\n<PlainTextSelection",
        1,
    )
    assert memo in qde
    folder = tmp_path / "atlas"
    (folder / "Sources").mkdir(parents=True)
    (folder / "Choir move.qde").write_text(qde, encoding="utf-8")
    for f in (DATA / "atlasti" / "Sources").iterdir():
        (folder / "Sources" / f.name).write_bytes(f.read_bytes())
    import_qdpx(store, _zip(folder, tmp_path / "a.qdpx"))
    (tr,) = store.transcripts()
    speakers = [t.speaker for t in store.turns(tr.id)]
    first = export_qdpx(store, tmp_path / "first.qdpx")
    with Store(tmp_path / "again", actor="tester") as again:
        import_qdpx(again, first)
        (back,) = again.transcripts()
        assert [t.speaker for t in again.turns(back.id)] == speakers
        assert back.text == tr.text
        assert [m.text for m in again.memos("source")] == [memo]
        second = export_qdpx(again, tmp_path / "second.qdpx")
    assert _codebook_of(first)["source_memos"] == {("Choir interview", memo)}
    assert _codebook_of(second) == _codebook_of(first)


def test_a_study_stamped_while_0009_was_a_placeholder_has_an_empty_codebook(tmp_path):
    """Studies made while 0009 changed nothing are at the head without its tables."""
    from sqlalchemy import text

    folder = tmp_path / "old"
    with Store(folder, actor="tester") as st:
        with st.engine.begin() as conn:
            for table in (
                "qda_variable_value",
                "qda_variable",
                "qda_memo",
                "qda_set_member",
                "qda_set",
                "qda_coding",
                "qda_code",
                "qda_user",
            ):
                conn.execute(text(f"DROP TABLE {table}"))
    with Store(folder, actor="tester") as st:
        assert codebook(st).empty and st.memos() == [] and st.code_sets() == []
        assert EMPTY in CodebookView(st).status.value
        export_qdpx(st, tmp_path / "plain.qdpx")  # nothing of a codebook to write
        import_qdpx(st, _zip(DATA / "maxqda", tmp_path / "m.qdpx"))  # makes the tables
        assert len(st.codes()) == 4 and len(st.codings()) == 3
