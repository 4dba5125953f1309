"""Real names typed by the team (notes, tensions) never reach an export unless asked."""

from __future__ import annotations

import zipfile

import docx
import pytest

from coprod_nb.domain.pseudonyms import name_scrubber, scrub_fields
from coprod_nb.exchange.pack_builder import write_resource_pack
from coprod_nb.exchange.refi_qda import export_qdpx
from coprod_nb.exchange.report import build_report, write_report
from coprod_nb.exchange.resource_pack import Quote
from tests.acting import as_

TYPED = "Margaret Okafor said it first; margaret_okafor wrote it in the minutes."


def test_the_scrubber_replaces_full_names_however_written():
    scrub = name_scrubber({"Margaret Okafor": "Jo Linden", "Ruth Abernethy": "Kit Moreland"})
    text, n = scrub("Margaret Okafor, margaret_okafor, MARGARET.OKAFOR and ruth-abernethy.")
    assert text == "Jo Linden, Jo Linden, Jo Linden and Kit Moreland."
    assert n == 4
    assert scrub("Margaret Okaforth stays") == ("Margaret Okaforth stays", 0)
    assert name_scrubber({})("Margaret Okafor") == ("Margaret Okafor", 0)


def test_scrub_fields_walks_dataclasses_and_leaves_bytes_alone():
    scrub = name_scrubber({"Margaret Okafor": "Jo Linden"})
    got = scrub_fields(
        {"q": (Quote("Margaret Okafor agreed", "LAHRP"),), "raw": b"Margaret Okafor"}, scrub
    )
    assert got == {"q": (Quote("Jo Linden agreed", "LAHRP"),), "raw": b"Margaret Okafor"}


@pytest.fixture
def typed(joint_demo):
    """The step-2 demo with a note and a new framework version whose texts name a leader."""
    st = joint_demo
    st.add_note("Birch", "LAHRP", TYPED, category="reflection")
    t = st.add_tension(
        "Margaret Okafor's ladder",
        "decided for",
        "decided with",
        description=TYPED,
        status="agreed",
    )
    as_(st, "Alder").freeze_framework("v2 with a typed real name")
    assert t.code in st.framework(2).codes
    return st


def _zip_text(path) -> str:
    with zipfile.ZipFile(path) as zf:
        return "\n".join(
            zf.read(n).decode("utf-8", "replace")
            for n in zf.namelist()
            if n.endswith((".xml", ".qde", ".txt"))
        )


def test_exports_scrub_typed_real_names(typed, tmp_path):
    outputs = {
        "pack html": write_resource_pack(
            typed, "html", tmp_path / "pack.html", version=2
        ).read_text(encoding="utf-8"),
        "pack docx": _zip_text(
            write_resource_pack(typed, "docx", tmp_path / "pack.docx", version=2)
        ),
        "report html": write_report(typed, "html", tmp_path / "r.html").read_text(encoding="utf-8"),
        "report docx": "\n".join(
            p.text
            for p in docx.Document(str(write_report(typed, "docx", tmp_path / "r.docx"))).paragraphs
        ),
        "qdpx": _zip_text(export_qdpx(typed, tmp_path / "s.qdpx")),
    }
    for fmt, text in outputs.items():
        folded = text.casefold()
        assert "okafor" not in folded, fmt
        assert "jo linden" in folded, fmt  # the tension's name, under its pseudonym


def test_real_names_are_kept_when_asked(typed):
    report = build_report(typed, real_names=True)
    assert any("Margaret Okafor" in s.name for s in report.tensions)
    assert not any("Margaret Okafor" in s.name for s in build_report(typed).tensions)


@pytest.mark.postgres
def test_a_researcher_role_refused_the_key_gets_a_clear_message_and_a_checked_export(
    pg_url, tmp_path
):
    """SECURITY.md's set-up on a real server: the lead's key is not the researcher's."""
    import uuid

    import psycopg

    from coprod_nb.errors import Forbidden
    from coprod_nb.exchange._names import UNCHECKED
    from coprod_nb.seed.demo import build_demo
    from coprod_nb.storage import Store

    build_demo(tmp_path / "lead", url=pg_url, stage="joint").close()
    role = f"r_{uuid.uuid4().hex[:10]}"
    database = pg_url.rsplit("/", 1)[1]
    admin = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
        conn.execute(f'GRANT CONNECT ON DATABASE "{database}" TO "{role}"')
        conn.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"')
        conn.execute(f'REVOKE ALL ON name_key FROM "{role}"')
    host = pg_url.split("@", 1)[1] if "@" in pg_url else pg_url.split("//", 1)[1]
    researcher_url = f"postgresql+psycopg://{role}@{host}"
    try:
        (tmp_path / "birch").mkdir()  # the researcher's own folder for exports
        st = Store(tmp_path / "birch", researcher_url, actor="birch", create=False)
        try:
            with pytest.raises(Forbidden, match="may not read the name key"):
                st.pseudonym_key()
            assert build_report(st).notes[-1] == UNCHECKED
        finally:
            st.close()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP OWNED BY "{role}"')
        # the database (and the role's grants in it) go with pg_url's own clean-up
