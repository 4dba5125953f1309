"""A second fictional study for the tests, sharing no name with the demo.

Three partnerships of a coastal community-health network (GULL, PIER, DUNE), a team of
three researchers (Rowan, the lead, login ``rowan``; Quill, ``quill``; Tamsin,
``tamsin``), four participants (Ash Penhale, Nico Trevail, Bea Kestle, Ora Menhay), its
own note categories (enabler, obstacle, observation) and prompts, and three short
transcripts in three formats (.vtt, .txt, .srt). Described by ``study.toml`` here and
built with the library's public functions, in the method's order, at a chosen stage:

- ``transcripts``: the manifest and the transcripts only;
- ``recall``: a few notes per researcher, some anchored to passages; step 1 open;
- ``joint``: step 1 closed by the lead, a joint meeting, three tensions agreed and
  frozen as v1 by the lead;
- ``workshop``: a workshop with the participants, card responses and circles, an
  opening poll (closed), two decisions, the result frozen as v2 by the lead.

Variants: ``researchers=False`` (transcripts only, no researcher in the manifest) and
``second_workshop=True`` (a follow-up workshop on v2 recorded after the first, its poll
open, its result not frozen).
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from coprod_nb.domain.decisions import Decision
from coprod_nb.seed.manifest import load_manifest, read_manifest
from coprod_nb.storage import Store
from tests.acting import as_, as_lead

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "study.toml"

#: How far the study goes; later stages include the earlier ones.
STAGES: tuple[str, ...] = ("transcripts", "recall", "joint", "workshop")

#: Names, for tests that assert on them.
LEAD = "Rowan"
RESEARCHERS = {"Rowan": "rowan", "Quill": "quill", "Tamsin": "tamsin"}
PARTNERSHIPS = ("DUNE", "GULL", "PIER")
PARTICIPANTS = ("Ash Penhale", "Bea Kestle", "Nico Trevail", "Ora Menhay")
CATEGORIES = ("enabler", "obstacle", "observation")

# (researcher, partnership, category, kind, text, quote or None)
NOTES = [
    (
        "Rowan",
        "GULL",
        "enabler",
        "self-observation",
        "The tea mornings belong to the families: the forum joined something that already ran.",
        "The fishermen's wives started it, not us.",
    ),
    (
        "Rowan",
        "DUNE",
        "obstacle",
        "self-reflection",
        "One-year funding eats two months of every year in bids; I have written those bids.",
        "Every spring we spend two months writing bids",
    ),
    (
        "Quill",
        "GULL",
        "obstacle",
        "recalled memory",
        "Sign-off for a noticeboard outlasts the news on it. I remember a poster that took "
        "a season.",
        "the trust board wants a logo on everything",
    ),
    (
        "Quill",
        "PIER",
        "enabler",
        "self-observation",
        "Rotating the chair moved the agenda away from the biggest budget.",
        "We rotate the chair.",
    ),
    (
        "Quill",
        "PIER",
        "observation",
        "self-reflection",
        "The renewal form asks for outcomes nobody can show in a quarter.",
        None,
    ),
    (
        "Tamsin",
        "DUNE",
        "enabler",
        "self-observation",
        "A volunteer translates the board's jargon out loud; nobody pays her for it.",
        "turns the jargon into plain words",
    ),
    (
        "Tamsin",
        "PIER",
        "obstacle",
        "recalled memory",
        "Carers can only come with cover for the person they look after.",
        None,
    ),
]

# (code, name, pole A, pole B, description, note indexes into NOTES)
TENSIONS = [
    (
        "H1",
        "Community-led vs institution-led agendas",
        "Community-led",
        "Institution-led",
        "Who sets what the partnership works on: the people of the place, or the bodies "
        "that hold the budget.",
        [0, 3],
    ),
    (
        "H2",
        "Plain words vs official formats",
        "Plain words",
        "Official formats",
        "Whether what is shared speaks the way people speak, or passes the sign-off of "
        "the organisations.",
        [2, 5],
    ),
    (
        "H3",
        "Short-term funding vs lasting relationships",
        "Short-term funding",
        "Lasting relationships",
        "Money that comes a year at a time against trust that takes years to build.",
        [1, 4, 6],
    ),
]

# (participant, code, comment, circle)
RESPONSES = [
    ("Ash Penhale", "H1", "The hall was ours before the forum came.", "inner"),
    ("Ash Penhale", "H2", "The noticeboard says it better than any leaflet.", "inner"),
    ("Ash Penhale", "H3", "We lose a season to every renewal.", "outer"),
    ("Nico Trevail", "H1", "The rotating chair is how we keep the table level.", "inner"),
    ("Nico Trevail", "H3", "The cover money ran out in November.", "inner"),
    ("Bea Kestle", "H2", "Our translator is the reason meetings work.", "inner"),
    ("Bea Kestle", "H3", "One year at a time is no way to keep a clinic.", "inner"),
    ("Ora Menhay", "H1", "Families suggest, the county decides.", "outer"),
]

# (participant, nominations) in the opening poll (at most two each)
BALLOTS = [
    ("Ash Penhale", ["H1", "H2"]),
    ("Nico Trevail", ["H1", "H3"]),
    ("Bea Kestle", ["H3", "H2"]),
    ("Ora Menhay", ["H1"]),
]


def build_second_study(
    study_dir: str | os.PathLike,
    stage: str = STAGES[-1],
    url: str | None = None,
    *,
    researchers: bool = True,
    second_workshop: bool = False,
    actor: str = "rowan",
) -> Store:
    """Build the second study in ``study_dir`` as it stands at ``stage``; return it open.

    ``researchers=False`` gives the study with no research team yet (``stage`` must
    then be ``"transcripts"``); ``second_workshop=True`` (stage ``"workshop"`` only)
    adds a follow-up workshop on v2, recorded after the first, with its poll open.
    The store is opened as ``actor`` (the lead's login by default).
    """
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(STAGES)} (got {stage!r})")
    if not researchers and stage != "transcripts":
        raise ValueError("a study without researchers can only be at stage 'transcripts'")
    if second_workshop and stage != "workshop":
        raise ValueError("a second workshop needs stage 'workshop'")
    store = Store(study_dir, url, actor=actor)
    data = read_manifest(MANIFEST)
    if not researchers:
        # The team's real names still become pseudonyms in the turns (as other people).
        team = data.pop("researchers")
        data["people"] = [{"name": r["name"], "pseudonym": r["pseudonym"]} for r in team]
        for t in data["transcripts"]:
            t.pop("interviewers", None)
    load_manifest(store, MANIFEST, progress=False, data=data)
    reached = STAGES.index(stage)
    if reached >= STAGES.index("recall"):
        note_ids = _write_notes(store)
    if reached >= STAGES.index("joint"):
        _joint_step(store, note_ids)
    if reached >= STAGES.index("workshop"):
        _workshop(store)
    if second_workshop:
        _second_workshop(store)
    return store


def _write_notes(store: Store) -> list[int]:
    ids = []
    for researcher, short, category, kind, text, quote in NOTES:
        anchors = []
        if quote:
            tr = next(
                t
                for t in store.transcripts()
                if t.partnership_id == store.partnership(short).id and quote in t.text
            )
            anchors.append(store.excerpt_of_quote(tr.id, quote).id)
        note = as_(store, researcher).add_note(  # each writes their own notes
            researcher, short, text, category=category, kind=kind, excerpts=anchors
        )
        ids.append(note.id)
    as_(store, "Quill").mark_read("Quill", "gull_2022-03-14_zoom.vtt")
    return ids


def _joint_step(store: Store, note_ids: list[int]) -> None:
    store.close_recall(by=LEAD)
    meeting = store.add_meeting(
        date(2022, 5, 3),
        list(RESEARCHERS),
        "We compared our notes partnership by partnership and agreed three tensions.",
        "Joint interpretation meeting",
    )
    store.add_dissent(
        meeting.id,
        "Is funding a tension of its own or part of H1?",
        [
            {"who": "Quill", "position": "part of who sets the agenda"},
            {"who": "Tamsin", "position": "a tension of its own"},
        ],
        "Kept apart: the participants talk about money and about agendas differently.",
        True,
    )
    for code, name, pole_a, pole_b, description, notes in TENSIONS:
        store.add_tension(
            name,
            pole_a,
            pole_b,
            code=code,
            description=description,
            proposer="Tamsin",
            status="agreed",
        )
        store.attach_evidence(code, notes=[note_ids[i] for i in notes])
    store.freeze_framework("v1: agreed at the joint interpretation meeting")


def _workshop(store: Store) -> None:
    ws = as_lead(store).add_workshop(
        date(2022, 6, 21),
        facilitators=["Rowan", "Tamsin"],
        participants=list(PARTICIPANTS),
    )
    for participant, code, comment, circle in RESPONSES:
        store.set_response(ws.id, participant, code, comment=comment, circle=circle)
    poll = store.open_poll(ws.id, "opening", ["H1", "H2", "H3"], max_choices=2)
    for participant, choices in BALLOTS:
        store.cast_ballot(poll.id, participant, choices)
    as_lead(store).close_poll(poll.id)
    when = date(2022, 6, 21)
    as_lead(store).record_decision(
        ws.id,
        Decision(
            kind="rename",
            ref="D1",
            targets=("H2",),
            name="Plain words vs signed-off formats",
            rationale="The group said the problem is the sign-off, not the format itself.",
            proposer="Bea Kestle",
            date=when,
            prompted_by=("response:Bea Kestle:H2",),
        ),
    )
    as_lead(store).record_decision(
        ws.id,
        Decision(
            kind="add",
            ref="D2",
            code="H4",
            name="Volunteer goodwill vs paid roles",
            pole_a="Volunteer goodwill",
            pole_b="Paid roles",
            description="Work that rests on volunteers against roles the budget recognises.",
            rationale="Two participants named unpaid go-betweens as what holds meetings up.",
            proposer="Nico Trevail",
            date=when,
            prompted_by=("poll",),
        ),
    )
    store.freeze_workshop_framework(ws.id, "v2: the framework after the workshop")
    store.set_position("GULL", "H1", "2022-06", 30)


def _second_workshop(store: Store) -> None:
    ws = as_lead(store).add_workshop(
        date(2023, 6, 20),
        facilitators=["Quill"],
        participants=["Ash Penhale", "Nico Trevail", "Bea Kestle"],
    )
    store.set_response(ws.id, "Nico Trevail", "H4", comment="Still unpaid.", circle="inner")
    poll = store.open_poll(ws.id, "opening", store.framework(ws.base_version).codes)
    store.cast_ballot(poll.id, "Ash Penhale", ["H4"])
