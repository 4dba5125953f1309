"""Once a study has a lead, only the lead changes the team (logins, the lead flag, who is on
it) or writes the real names out; before that, the team is being set up."""

from __future__ import annotations

import pytest

from coprod_nb.errors import Forbidden
from coprod_nb.seed.manifest import manifest_toml
from coprod_nb.widgets import StudySetupEditor


def test_a_researcher_cannot_make_themselves_lead_or_take_a_colleagues_login(second_study):
    quill = second_study("transcripts", actor="quill")
    before = {(r.name, r.login, r.lead) for r in quill.researchers()}
    with pytest.raises(Forbidden, match="only the study lead \\(Rowan\\)"):
        quill.update_researcher("Quill", lead=True)
    with pytest.raises(Forbidden, match="you are Quill"):
        quill.update_researcher("Tamsin", login="quill2")
    with pytest.raises(Forbidden):
        quill.add_researcher("Zed Quorn", "zed", lead=True)
    with pytest.raises(Forbidden):
        quill.remove_researcher("Tamsin")
    with pytest.raises(Forbidden, match="real names"):
        manifest_toml(quill)
    assert {(r.name, r.login, r.lead) for r in quill.researchers()} == before
    quill.add_researcher("Zed Quorn", "zed")  # a colleague may still be added
    quill.update_researcher("Quill", real_name=None)  # nothing of identity changed: allowed


def test_the_widget_shows_the_refusal_and_the_lead_can(second_study):
    quill = second_study("transcripts", actor="quill")
    form = StudySetupEditor(quill).researchers
    form.pick.value = "Quill"
    form.lead.value = True
    form.save_button.click()
    assert "cp-error" in form.status.value and not quill.researcher("Quill").lead
    rowan = second_study("transcripts", actor="rowan")
    rowan.update_researcher("Quill", lead=True)
    assert rowan.researcher("Quill").lead
    assert "[[researchers]]" in manifest_toml(rowan) or "researchers" in manifest_toml(rowan)


def test_before_any_lead_the_team_is_set_up_freely(store):
    store.add_researcher("Ada Pell", "ada")
    store.update_researcher("Ada Pell", login="ada2")
    store.add_researcher("Bo Fenn", "bo", lead=True)
    assert [r.lead for r in store.researchers()] == [False, True]
