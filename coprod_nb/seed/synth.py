"""A large synthetic study, for benchmarks and for trying the notebooks at scale.

Everything is invented: the partnerships, the people and the words (drawn from a fixed
vocabulary of co-production talk). The study is built through the public API, as a
team would build it: transcripts written as ``Name: text`` files and imported in one
folder import, notes with excerpts, step 1 closed, tensions with evidence frozen as v1,
then a workshop with responses, an opening poll, decisions and v2.

The same ``seed`` gives the same study (ids, texts and counts), so benchmark figures from
two runs compare like with like.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from coprod_nb.errors import InvalidInput

if TYPE_CHECKING:  # the storage layer loads on first use: every command's parser imports
    # this module (`coprod-nb --help`, `coprod-nb search` stay quick)
    from coprod_nb.storage import Store

__all__ = [
    "Cast",
    "add_people",
    "build_synthetic_study",
    "main",
    "write_corpus",
    "write_transcript",
]

# -- the fixed vocabulary ---------------------------------------------------------------

# Frequent words first: sampling weights fall with the rank (a Zipf-like curve), so that
# searches meet common words, mid-frequency words and rare ones.
_FUNCTION = (
    "the and of to a in that we it was for they but on with as you not at this had "
    "so be what there all were our people would about when them more their one from "
    "have just very really think because who some only then which out also how can"
).split()
_CONTENT = (
    "partnership contributors research public involvement meeting board steering group "
    "funding project leaders staff trust university community lived experience power "
    "payment budget theme lead evaluation patients carers coproduction coproduced "
    "voice trustees volunteers decisions agenda papers minutes workshop training "
    "skills motivation structures contracts ethics finance promotion careers academic "
    "clinical practice service users panel advisory evidence impact report summary "
    "language jargon plain listening trusting sharing reflecting rung ladder table "
    "kitchen coffee evenings goodwill capacity strategy bid timetable recruitment "
    "honoraria vouchers expenses invoices reimbursement gatekeeping hierarchy "
    "boundary translation facilitation facilitator chair secretariat rotation "
    "newcomers champions allies sceptics pilots outputs outcomes papers dissemination "
    "slides posters podcast newsletter letters consent anonymity recordings diary "
    "memory reading interpretation tensions poles spectrum framework circles cards"
).split()
# Invented words and places: rare in the corpus, so they make selective queries.
_RARE = (
    "Quillmere Brackenford Osterley-Vane Hollowmere Tarrowby Fenwick Cradley Morrowdale "
    "Pellingham Ashgrove Wynstead Larkbeck Corrow Dunmere Halloway Kestrel Mirefield "
    "Nettlecombe Oxley Pemberth Quarrendon Rushmere Saltcote Thistlebrook Umberley "
    "Varrow Whinmoor Yarrowby Zennor-Hythe co-design co-chairs co-authors co-applicants "
    "honorarium subgroup roundtable walkabout storyboard sensemaking backcasting "
    "teach-in listening-post fishbowl photovoice"
).split()
_VOCABULARY = _FUNCTION + _CONTENT + _RARE
_WEIGHTS = [1.0 / (rank + 8) for rank in range(len(_VOCABULARY))]

_QUESTIONS = (
    "How did that start",
    "What did co-production mean to you then",
    "Who was at the table when that was decided",
    "Can you say more about the money",
    "What would you do differently now",
    "Where did the power sit in that",
    "How did the contributors hear about it",
    "What got in the way",
)

_TREES = (
    "Alder Birch Cedar Hazel Rowan Willow Aspen Elm Holly Juniper Laurel Maple Oak Pine "
    "Spruce Yew Sorrel Larch Hawthorn Beech Cypress Fir Hemlock Poplar Sycamore Tamarack "
    "Walnut Ash Chestnut Elder Myrtle Olive Sequoia Acacia Wisteria Medlar Quince Damson"
).split()
_FIRST = (
    "Ada Bram Cleo Dev Edie Finn Gwen Hal Iris Jude Kai Lorna Milo Nell Otto Pia Quin "
    "Rhea Seb Tess Uma Vic Wren Xan Yara Zac Bea Cal Dot Ezra"
).split()
_LAST = (
    "Ashdown Brightwell Coombe Dunstan Eddery Fairlie Garside Hollins Ingram Jessop "
    "Kirkby Lowther Marwood Norcott Oldroyd Pellow Quayle Redfern Stainton Thwaite "
    "Upward Varley Wardle Yeadon"
).split()
_PLACES = (
    "Quillmere Brackenford Hollowmere Tarrowby Morrowdale Pellingham Ashgrove Wynstead "
    "Larkbeck Dunmere Mirefield Nettlecombe Pemberth Rushmere Saltcote Thistlebrook "
    "Umberley Varrow Whinmoor Yarrowby"
).split()
_POLES = (
    ("Idealism", "Realism"),
    ("Shared power", "Fixed hierarchy"),
    ("Plain language", "Academic language"),
    ("Individual motivation", "Structural barriers"),
    ("Paying contributors", "Volunteering"),
    ("Speed of delivery", "Time to build trust"),
    ("Local knowledge", "Published evidence"),
    ("Open membership", "Selected panels"),
    ("Informal spaces", "Formal meetings"),
    ("Risk taking", "Governance"),
    ("Lived experience", "Professional expertise"),
    ("Continuity of people", "Funding cycles"),
)


def _sentence(rng: random.Random, low: int, high: int, end: str = ".") -> tuple[str, int]:
    n = rng.randint(low, high)
    words = rng.choices(_VOCABULARY, weights=_WEIGHTS, k=n)
    words[0] = words[0][:1].upper() + words[0][1:]
    return " ".join(words) + end, n


def _turn_text(rng: random.Random, leader: bool) -> tuple[str, int]:
    if not leader:
        question = rng.choice(_QUESTIONS)
        lead, n = _sentence(rng, 4, 14)
        return f"{lead} {question}?", n + len(question.split())
    parts, total = [], 0
    for _ in range(rng.randint(3, 11)):
        text, n = _sentence(rng, 6, 22, rng.choice(".....?!"))
        parts.append(text)
        total += n
    return " ".join(parts), total


def write_transcript(
    path: str | os.PathLike, *, words: int, interviewer: str, leader: str, seed: int = 0
) -> int:
    """Write a plain-text transcript of about ``words`` words; return how many turns.

    Turns alternate between ``interviewer`` (short questions) and ``leader`` (longer
    answers), one ``Name: text`` line each, written line by line.
    """
    rng = random.Random(seed)
    written = turns = 0
    with open(path, "w", encoding="utf-8") as out:
        while written < words:
            is_leader = turns % 2 == 1
            text, n = _turn_text(rng, is_leader)
            out.write(f"{leader if is_leader else interviewer}: {text}\n\n")
            written += n
            turns += 1
    return turns


def _names(pool: Sequence[str], n: int) -> list[str]:
    return [
        pool[i % len(pool)] + (f" {i // len(pool) + 1}" if i >= len(pool) else "") for i in range(n)
    ]


def _span(rng: random.Random, length: int) -> tuple[int, int]:
    start = rng.randrange(0, max(1, length - 20))
    return start, min(length, start + rng.randint(20, 240))


@dataclass(frozen=True)
class Cast:
    """Who a synthetic study holds: researcher names (the lead first), leaders, partnerships."""

    team: list[str]
    leaders: list[str]
    shorts: list[str]


def add_people(
    store: Store,
    rng: random.Random,
    *,
    researchers: int = 30,
    participants: int = 30,
    partnerships: int = 20,
) -> Cast:
    """Add partnerships, the research team (the first one leads) and the leaders."""
    partnerships = min(partnerships, participants)
    shorts = []
    for i in range(partnerships):
        short = f"P{i + 1:02d}"
        place = _PLACES[i % len(_PLACES)]
        store.add_partnership(
            short,
            f"{place} Partnership for Applied Health Research {i + 1}",
            {"region": place, "members": rng.randint(6, 40)},
        )
        shorts.append(short)
    team = _names(_TREES, researchers)
    for i, name in enumerate(team):
        store.add_researcher(name, login=f"r{i + 1:02d}", lead=i == 0)
    leaders: list[str] = []
    pairs = [(first, last) for last in _LAST for first in _FIRST]
    rng.shuffle(pairs)
    for i in range(participants):
        first, last = pairs[i % len(pairs)]
        name = f"{first} {last}" + (f" {i // len(pairs) + 1}" if i >= len(pairs) else "")
        store.add_participant(
            name, shorts[i % partnerships], role="leader", consent_record=True, consent_quote=True
        )
        leaders.append(name)
    return Cast(team, leaders, shorts)


def write_corpus(
    folder: str | os.PathLike,
    cast: Cast,
    rng: random.Random,
    *,
    transcripts: int = 200,
    words: int = 8000,
    start: date = date(2021, 3, 1),
) -> list[Path]:
    """Write the transcripts of a synthetic study into ``folder``, one file at a time.

    Transcript ``i`` is a conversation between researcher ``i`` and leader ``i`` (both
    taken round the cast); its file name carries its partnership and date.
    """
    folder = Path(folder)
    paths = []
    for i in range(transcripts):
        when = start + timedelta(days=i % 365)
        short = cast.shorts[i % len(cast.shorts)]
        path = folder / f"{short.lower()}_{when.isoformat()}_{i + 1:04d}.txt"
        write_transcript(
            path,
            words=words,
            interviewer=cast.team[i % len(cast.team)],
            leader=cast.leaders[i % len(cast.leaders)],
            seed=rng.getrandbits(32),
        )
        paths.append(path)
    return paths


def build_synthetic_study(
    study_dir: str | os.PathLike,
    *,
    transcripts: int = 200,
    words: int = 8000,
    researchers: int = 30,
    notes: int = 20_000,
    tensions: int = 40,
    participants: int = 30,
    partnerships: int = 20,
    seed: int = 0,
    progress: bool = True,
    url: str | None = None,
    actor: str = "synth",
    timings: dict | None = None,
) -> Store:
    """Build a synthetic study in ``study_dir`` (which must not hold a study yet).

    Parameters
    ----------
    transcripts, words : int
        How many transcripts, and about how many words each.
    researchers : int
        The team; the first is the lead, who closes step 1 and freezes frameworks.
    notes : int
        Step-1 notes; about two in three are anchored to an excerpt of a turn.
    tensions : int
        Tensions named at the joint meeting; most are agreed and frozen as v1.
    participants : int
        Partnership leaders: they speak in the transcripts and take part in the workshop.
    partnerships : int
        Partnerships (at most one per participant).
    seed : int
        Same seed, same study.
    progress : bool
        Show progress bars (``tqdm.auto``).
    url : str, optional
        A SQLAlchemy URL of an empty database (default: ``study_dir/study.db``).
    actor : str
        Recorded as "who" in the event log.
    timings : dict, optional
        Filled with the seconds of each phase (``import_s``: the folder import of the
        transcripts, and ``import_cpu_s`` this process's CPU in it; ``notes_s``;
        ``rest_s``: steps 2 and 3), for benchmarks that report the import of a study
        built at a given size.

    Returns
    -------
    Store
        The open study, with v1 and v2 frozen and the opening poll closed.
    """
    import time

    from tqdm.auto import tqdm

    from coprod_nb.domain.decisions import Decision
    from coprod_nb.ingest import import_transcripts
    from coprod_nb.storage import Store
    from coprod_nb.storage.access import as_lead

    if min(transcripts, words, researchers, tensions, participants, partnerships) < 1:
        raise InvalidInput("every count of a synthetic study must be at least 1")
    if notes < 0:
        raise InvalidInput("the number of notes cannot be negative")
    study_dir = Path(study_dir)
    if (study_dir / "study.db").exists() and url is None:
        raise InvalidInput("a study already exists here", file=str(study_dir))
    rng = random.Random(seed)
    store = Store(study_dir, url, actor=actor)
    if store.transcripts():
        store.close()
        raise InvalidInput("the database already holds a study", file=str(study_dir))
    store.update_study(
        name=f"Synthetic study (seed {seed})",
        description=f"{transcripts} invented transcripts of about {words} words each.",
    )
    cast = add_people(
        store, rng, researchers=researchers, participants=participants, partnerships=partnerships
    )
    team, leaders, shorts = cast.team, cast.leaders, cast.shorts
    # Transcripts are written one at a time into a folder of the study, imported in one
    # folder import (as a team would), and the folder removed.
    folder = Path(tempfile.mkdtemp(prefix="synth-transcripts-", dir=study_dir))
    try:
        write_corpus(folder, cast, rng, transcripts=transcripts, words=words)
        start, cpu = time.perf_counter(), time.process_time()
        import_transcripts(store, [folder], progress=progress)
        phases = {
            "import_s": time.perf_counter() - start,
            "import_cpu_s": time.process_time() - cpu,
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    start = time.perf_counter()

    # -- step 1: notes, many anchored to an excerpt of a turn --------------------------------
    turns_by_pship: dict[int | None, list[tuple[int, int]]] = {}
    for tr in store.transcripts():
        spans = [(t.id, t.char_end - t.char_start) for t in store.turns(tr.id) if t.text]
        turns_by_pship.setdefault(tr.partnership_id, []).extend(spans)
    pship_ids = {p.short: p.id for p in store.partnerships()}
    categories, kinds = store.note_categories(), store.data_kinds()
    note_ids: list[int] = []
    excerpt_ids: list[int] = []
    for i in tqdm(range(notes), desc="Writing notes", unit="note", disable=not progress):
        short = rng.choice(shorts)
        anchors = []
        pool = turns_by_pship.get(pship_ids[short]) or []
        if pool and rng.random() < 2 / 3:
            for _ in range(1 if rng.random() < 0.85 else 2):
                turn_id, length = rng.choice(pool)
                lo, hi = _span(rng, length)
                anchors.append(store.excerpt_of_turn(turn_id, lo, hi).id)
        text = " ".join(_sentence(rng, 8, 30)[0] for _ in range(rng.randint(1, 4)))
        note = store.add_note(
            team[i % researchers],
            short,
            text,
            category=rng.choice(categories),
            kind=rng.choice(kinds),
            excerpts=anchors,
        )
        note_ids.append(note.id)
        excerpt_ids += anchors
    with as_lead(store):
        store.close_recall()
    phases["notes_s"] = time.perf_counter() - start
    start = time.perf_counter()

    # -- step 2: tensions with evidence, frozen as v1 --------------------------------------
    must_agree = max(min(tensions, 4), round(tensions * 0.8))
    codes = []
    for i in range(tensions):
        a, b = _POLES[i % len(_POLES)]
        round_ = i // len(_POLES)
        name = f"{a} vs {b}" + (f" ({round_ + 1})" if round_ else "")
        status = "agreed" if i < must_agree else rng.choice(("candidate", "parked"))
        row = store.add_tension(
            name,
            a,
            b,
            description=_sentence(rng, 12, 30)[0],
            subthemes=[_sentence(rng, 2, 4, "")[0] for _ in range(rng.randint(0, 3))],
            proposer=rng.choice(team),
            status=status,
        )
        store.attach_evidence(
            row.code,
            notes=rng.sample(note_ids, min(len(note_ids), rng.randint(3, 25))),
            excerpts=rng.sample(excerpt_ids, min(len(excerpt_ids), rng.randint(0, 6))),
        )
        codes.append(row.code)
    for _ in range(min(tensions - 1, max(0, tensions // 4))):
        source, target = rng.sample(codes, 2)
        try:
            store.link_tensions(source, target, rng.choice(("relates to", "contradicts")))
        except InvalidInput:
            pass  # the same link drawn twice
    with as_lead(store):
        store.freeze_framework("v1: agreed at the joint interpretation meeting")

    # -- step 3: the workshop ------------------------------------------------------------------
    v1 = store.framework(1).codes
    when = date(2022, 5, 4)
    with as_lead(store):
        ws = store.add_workshop(
            when,
            facilitators=team[:2],
            participants=leaders,
            base_version=1,
            consensus_threshold=0.75,
        )
    for person in leaders:
        for code in rng.sample(v1, min(len(v1), 6)):
            store.set_response(
                ws.id,
                person,
                code,
                comment=_sentence(rng, 8, 24)[0],
                suggestion=_sentence(rng, 5, 12)[0] if rng.random() < 0.3 else "",
                circle=rng.choice(("inner", "outer", "none")),
                reason=_sentence(rng, 4, 10)[0],
                source="synth",
            )
    choices = min(3, len(v1))
    poll = store.open_poll(ws.id, "opening", v1, max_choices=choices, ranked=True)
    for person in leaders:
        store.cast_ballot(poll.id, person, rng.sample(v1, choices))
    with as_lead(store):
        store.close_poll(poll.id)
    n = len(codes)
    decisions = [
        Decision(kind="keep", targets=(v1[0],), rationale="Most nominated in the opening poll."),
    ]
    if len(v1) >= 2:
        decisions.append(
            Decision(
                kind="rename",
                targets=(v1[1],),
                name=f"{store.tension(v1[1]).name} (as the workshop put it)",
                rationale="Participants read the card differently from the team.",
                prompted_by=("circles",),
            )
        )
    decisions.append(
        Decision(
            kind="add",
            code=f"T{n + 1}",
            name="Motivation vs lack of skills",
            pole_a="Motivation",
            pole_b="Lack of skills",
            description=_sentence(rng, 12, 30)[0],
            rationale="Several participants said the pack missed it.",
            proposer=leaders[0],
            prompted_by=("poll",),
        )
    )
    if len(v1) >= 4:
        decisions.append(
            Decision(
                kind="merge",
                targets=(v1[2], v1[3]),
                code=f"T{n + 2}",
                name="Individual motivation vs structural issues",
                pole_a="Individual motivation",
                pole_b="Structural issues",
                rationale="Two cards told one story from two sides.",
                proposer=leaders[-1],
                prompted_by=("circles", "poll"),
            )
        )
    decisions = [replace(d, ref=f"D{i}", date=when) for i, d in enumerate(decisions, start=1)]
    with as_lead(store):
        store.record_decisions(ws.id, decisions)
        store.freeze_workshop_framework(ws.id, "v2: the framework after the workshop")
    phases["rest_s"] = time.perf_counter() - start
    if timings is not None:
        timings.update(phases)
    return store


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m coprod_nb.seed.synth",
        description="Build a large synthetic study (for benchmarks).",
    )
    add_arguments(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``coprod-nb synth`` (``-q``, ``--db`` and ``--as`` come from the CLI)."""
    p.add_argument("dir", help="study folder to create (must not hold a study)")
    p.add_argument("--transcripts", type=int, default=200)
    p.add_argument("--words", type=int, default=8000, help="words per transcript")
    p.add_argument("--researchers", type=int, default=30)
    p.add_argument("--notes", type=int, default=20_000)
    p.add_argument("--tensions", type=int, default=40)
    p.add_argument("--participants", type=int, default=30)
    p.add_argument("--partnerships", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    """Build the study described by parsed ``args``; print a summary. Returns 0."""
    store = build_synthetic_study(
        args.dir,
        transcripts=args.transcripts,
        words=args.words,
        researchers=args.researchers,
        notes=args.notes,
        tensions=args.tensions,
        participants=args.participants,
        partnerships=args.partnerships,
        seed=args.seed,
        progress=not getattr(args, "quiet", False),
        url=getattr(args, "db", None),
        actor=getattr(args, "actor", None) or "synth",
    )
    with store:
        versions = [v.version for v in store.framework_versions()]
        print(
            f"synthetic study built in {store.study_dir}: {len(store.transcripts())} "
            f"transcripts, frameworks {versions}"
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m coprod_nb.seed.synth DIR [--transcripts N ...]``."""
    return run(_parser().parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
