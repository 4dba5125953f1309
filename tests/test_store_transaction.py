"""``Store.transaction()``: a block of store calls that is all or nothing, on both databases.

Inside the block the calls see each other's writes; an error out of the block undoes
them all; a call that fails inside it undoes only its own writes (a savepoint), so a
caller that handles the error keeps the rest.
"""

from __future__ import annotations

import pytest

from coprod_nb.errors import Forbidden, InvalidInput
from coprod_nb.storage import bulk
from tests.acting import as_


class Boom(Exception):
    pass


def test_an_error_out_of_the_block_undoes_every_call(store):
    with pytest.raises(Boom):
        with store.transaction():
            store.add_partnership("tide", "Tide Pool Group")
            store.add_researcher("Wren")
            assert [p.short for p in store.partnerships()] == ["tide"]  # seen inside
            raise Boom
    assert store.partnerships() == [] and store.researchers() == []


def test_a_failed_call_inside_undoes_only_its_own_writes(store):
    with store.transaction():
        store.add_partnership("tide", "Tide Pool Group")
        with pytest.raises(InvalidInput, match="already exists"):
            store.add_partnership("tide", "again")
        with store.transaction():  # nested: joins the outer one
            store.add_researcher("Wren")
    assert [p.short for p in store.partnerships()] == ["tide"]
    assert [r.name for r in store.researchers()] == ["Wren"]


def test_bulk_notes_check_every_item_before_writing(store):
    store.add_partnership("tide", "Tide Pool Group")
    wren = store.add_researcher("Wren")
    good = {
        "researcher": wren.id,
        "partnership": "tide",
        "text": "a",
        "category": "reflection",
        "kind": "self-reflection",
    }
    with pytest.raises(InvalidInput):
        bulk.add_notes(store, [good, {**good, "category": "no such category"}])
    with pytest.raises(InvalidInput, match="partnership"):
        bulk.add_notes(store, [good, {**good, "partnership": ""}])
    wrens = as_(store, "Wren")
    assert wrens.notes() == []
    ids = bulk.add_notes(store, [good, {**good, "text": "b"}])
    assert [n.text for n in wrens.notes()] == ["a", "b"] and len(ids) == 2
    # a researcher writes only in their own name, in bulk as one by one
    store.add_researcher("Quill")
    with pytest.raises(Forbidden, match="cannot write as"):
        bulk.add_notes(as_(store, "Quill"), [{**good, "text": "c"}])
    assert [n.text for n in wrens.notes()] == ["a", "b"]
