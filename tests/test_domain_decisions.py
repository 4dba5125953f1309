"""Step 3 decisions: each kind's semantics and errors, replay and lineage of the worked
example, and the plain-file decision log (round trips, hostile strings, error messages)."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coprod_nb.domain.decisions import (
    DECISION_KINDS,
    Decision,
    DecisionError,
    LineageEdge,
    apply,
    lineage,
    read_decision_log,
    replay,
    validate_decision,
    write_decision_log,
)
from coprod_nb.domain.framework import Framework, Tension
from coprod_nb.errors import InvalidInput
from coprod_nb.seed.demo import demo_data_dir

DEMO = demo_data_dir()

# METHOD.md's final table (F1..F4 = T1, T2, T3, T8), in its own lower-case wording.
FINAL = [
    (
        "T1",
        "idealistic, tokenistic vs realistic narratives",
        [
            "lack of clarity on the meaning of co-production",
            "lack of funding for co-produced research",
        ],
    ),
    (
        "T2",
        "power differences and (lack of) reciprocity",
        ["challenging traditional research approaches", "co-production as a creative endeavour"],
    ),
    (
        "T3",
        "excluding vs including language and communication",
        ["language and communication", "motivation versus skills"],
    ),
    (
        "T8",
        "individual motivation vs structural issues",
        ["individual motivation for working in co-production", "structural barriers"],
    ),
]


def tension(code: str, subthemes=(), notes=()) -> Tension:
    return Tension(
        code,
        f"Name {code}",
        f"{code} low",
        f"{code} high",
        description=f"About {code}.",
        subthemes=tuple(subthemes),
        evidence={"notes": list(notes), "excerpts": []},
    )


@pytest.fixture
def small() -> Framework:
    return Framework(
        (
            tension("T1", ["a", "b"], notes=[1, 2]),
            tension("T2", ["b", "c"], notes=[2, 3]),
            tension("T3", ["d"], notes=[4]),
        ),
        version=1,
        label="v1",
    )


@pytest.fixture(scope="module")
def initial() -> Framework:
    data = tomllib.loads((DEMO / "joint_meeting.toml").read_text(encoding="utf-8"))
    # The file lists each tension's evidence as `notes`; a frozen framework keeps it in
    # `evidence`, which is what the merge and fold carry over.
    tensions = (
        Tension.from_dict({**t, "evidence": {"notes": t["notes"], "excerpts": []}})
        for t in data["tensions"]
    )
    return Framework(tuple(tensions), version=1, label="v1")


@pytest.fixture(scope="module")
def demo_text() -> str:
    return (DEMO / "workshop.toml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def demo(demo_text) -> list[Decision]:
    # read_decision_log ignores the workshop file's other tables (responses, poll, ...).
    return read_decision_log(demo_text, source="workshop.toml")


# ---------------------------------------------------------------------- each kind


def test_add_appends_a_new_tension(small):
    d = Decision(
        "add", "D1", code="T9", name="New", pole_a="x", pole_b="y", proposer="Kit", subthemes=["s"]
    )
    after = apply(small, d)
    assert after.codes == ["T1", "T2", "T3", "T9"]
    new = after.get("T9")
    assert (new.name, new.label, new.origin, new.subthemes, new.proposer) == (
        "New",
        "x vs y",
        (),
        ("s",),
        "Kit",
    )
    assert (after.version, after.label) == (None, "current")
    assert small.codes == ["T1", "T2", "T3"]  # pure


def test_rename_and_reword(small):
    renamed = apply(small, Decision("rename", "D1", targets=("T2",), name="Power"))
    assert renamed.get("T2").name == "Power"
    assert renamed.get("T2").pole_a == "T2 low"
    one = apply(small, Decision("reword", "D2", targets=("T1",), pole_b="Realistic"))
    assert (one.get("T1").pole_a, one.get("T1").pole_b) == ("T1 low", "Realistic")
    both = apply(small, Decision("reword", "D3", targets=("T1",), pole_a="P", pole_b="Q"))
    assert both.get("T1").label == "P vs Q"
    assert both.get("T1").description == "About T1."
    desc = apply(small, Decision("reword", "D4", targets=("T1",), description="Wider."))
    assert (desc.get("T1").description, desc.get("T1").label) == ("Wider.", "T1 low vs T1 high")


def test_merge_replaces_targets_at_the_first_target(small):
    d = Decision("merge", "D2", targets=("T2", "T1"), code="T8", name="M", pole_a="i", pole_b="s")
    after = apply(small, d)
    assert after.codes == ["T8", "T3"]
    merged = after.get("T8")
    assert merged.origin == ("T2", "T1")
    # sub-themes default: union in the targets' order, no duplicates
    assert merged.subthemes == ("b", "c", "a")
    assert merged.evidence == {"notes": [2, 3, 1], "excerpts": []}
    explicit = apply(small, replace(d, subthemes=("only",), description="D."))
    assert (explicit.get("T8").subthemes, explicit.get("T8").description) == (("only",), "D.")
    none = apply(small, replace(d, subthemes=()))
    assert none.get("T8").subthemes == ()


def test_merge_in_the_middle_keeps_order_and_may_reuse_a_target_code(small):
    d = Decision("merge", "D1", targets=("T2", "T3"), code="T2", name="M", pole_a="a", pole_b="b")
    after = apply(small, d)
    assert after.codes == ["T1", "T2"]
    assert after.get("T2").origin == ("T2", "T3")


def test_split_replaces_the_target_with_its_parts(small):
    parts = (
        Tension("T9", "Nine", "n1", "n2", subthemes=("x",)),
        Tension("T10", "Ten", "t1", "t2"),
    )
    after = apply(small, Decision("split", "D1", targets=("T2",), parts=parts, proposer="Ash"))
    assert after.codes == ["T1", "T9", "T10", "T3"]
    nine, ten = after.get("T9"), after.get("T10")
    assert (nine.origin, ten.origin) == (("T2",), ("T2",))
    assert (nine.subthemes, nine.proposer) == (("x",), "Ash")
    assert nine.evidence == ten.evidence == {"notes": [2, 3], "excerpts": []}
    nine.evidence["notes"].append(99)  # each part owns its evidence lists
    assert ten.evidence["notes"] == [2, 3]
    assert small.get("T2").evidence["notes"] == [2, 3]


def test_fold_makes_a_sub_theme_and_moves_evidence(small):
    after = apply(small, Decision("fold", "D3", targets=("T3",), into="T1", subtheme="Skills"))
    assert after.codes == ["T1", "T2"]
    assert after.get("T1").subthemes == ("a", "b", "Skills")
    assert after.get("T1").evidence["notes"] == [1, 2, 4]
    default = apply(small, Decision("fold", "D3", targets=("T3",), into="T1"))
    assert default.get("T1").subthemes == ("a", "b", "Name T3")
    again = apply(small, Decision("fold", "D3", targets=("T3",), into="T1", subtheme="a"))
    assert again.get("T1").subthemes == ("a", "b")  # no duplicate sub-theme


def test_drop_keep_and_subthemes(small):
    assert apply(small, Decision("drop", "D1", targets=("T2",))).codes == ["T1", "T3"]
    assert apply(small, Decision("keep", "D2", targets=("T2",))) is small
    set_ = apply(small, Decision("subthemes", "D3", targets=("T3",), subthemes=("p", "q")))
    assert set_.get("T3").subthemes == ("p", "q")
    cleared = apply(small, Decision("subthemes", "D4", targets=("T3",), subthemes=()))
    assert cleared.get("T3").subthemes == ()


# ---------------------------------------------------------------------- errors of each kind


@pytest.mark.parametrize(
    "decision, problem",
    [
        (Decision("mege", "D1", targets=("T1",)), "unknown kind 'mege'"),
        (Decision("add", "D1", code="T1", name="n", pole_a="a", pole_b="b"), "T1 is already"),
        (Decision("add", "D1", code="T9", name=" ", pole_a="a", pole_b="b"), "name must not"),
        (Decision("add", "D1", code="T9", name="n", pole_a="a"), "needs pole_b"),
        (
            Decision("add", "D1", targets=("T1",), code="T9", name="n", pole_a="a", pole_b="b"),
            "names no target",
        ),
        (Decision("rename", "D1", targets=("T7",), name="n"), "T7 is not in the framework"),
        (Decision("rename", "D1", targets=("T1",), name=""), "name must not be empty"),
        (Decision("rename", "D1", targets=("T1", "T2"), name="n"), "exactly one target"),
        (Decision("rename", "D1", targets=("T1",), name="n", into="T2"), "into does not apply"),
        (Decision("reword", "D1", targets=("T1",)), "needs pole_a, pole_b or description"),
        (Decision("reword", "D1", targets=("T1",), pole_a=""), "pole_a must not be empty"),
        (
            Decision("merge", "D1", targets=("T1",), code="T8", name="n", pole_a="a", pole_b="b"),
            "at least two targets",
        ),
        (
            Decision(
                "merge", "D1", targets=("T1", "T1"), code="T8", name="n", pole_a="a", pole_b="b"
            ),
            "names a target twice",
        ),
        (
            Decision(
                "merge", "D1", targets=("T1", "T2"), code="T3", name="n", pole_a="a", pole_b="b"
            ),
            "code T3 is already taken",
        ),
        (
            Decision(
                "merge", "D1", targets=("T1", "T5"), code="T8", name="n", pole_a="a", pole_b="b"
            ),
            "T5 is not in the framework",
        ),
        (
            Decision("split", "D1", targets=("T1",), parts=(Tension("T9", "n", "a", "b"),)),
            "at least two parts",
        ),
        (
            Decision(
                "split",
                "D1",
                targets=("T1",),
                parts=(Tension("T9", "n", "a", "b"), Tension("T3", "n", "a", "b")),
            ),
            "code T3 is already taken",
        ),
        (
            Decision(
                "split",
                "D1",
                targets=("T1",),
                parts=(Tension("T9", "n", "a", "b"), Tension("T9", "m", "a", "b")),
            ),
            "used by two parts",
        ),
        (
            Decision(
                "split",
                "D1",
                targets=("T1",),
                parts=(Tension("T9", "n", "a", "b"), Tension("T10", "m", "", "b")),
            ),
            "part 2: pole_a must not be empty",
        ),
        (Decision("fold", "D1", targets=("T1",), into="T1"), "cannot fold T1 into itself"),
        (Decision("fold", "D1", targets=("T1",), into="T6"), "T6 is not in the framework"),
        (Decision("fold", "D1", targets=("T1",)), "needs into"),
        (Decision("drop", "D1", targets=("T4",)), "T4 is not in the framework"),
        (Decision("keep", "D1", targets=("T4",)), "T4 is not in the framework"),
        (Decision("keep", "D1", targets=()), "exactly one target"),
        (Decision("subthemes", "D1", targets=("T1",)), "needs subthemes"),
        (Decision("subthemes", "D1", targets=("T1",), subthemes=("a", "a")), "listed twice"),
        (Decision("subthemes", "D1", targets=("T1",), subthemes=("a", " ")), "non-empty"),
    ],
)
def test_a_decision_that_cannot_apply_names_its_ref_and_the_problem(small, decision, problem):
    with pytest.raises(DecisionError) as info:
        apply(small, replace(decision, ref="D42"))
    assert problem in str(info.value)
    assert str(info.value).startswith("decision D42: ")
    assert info.value.ref == "D42"
    assert isinstance(info.value, InvalidInput)


def test_every_kind_is_covered_by_validation():
    # Each kind needs something: an empty decision of any kind is refused.
    for kind in DECISION_KINDS:
        with pytest.raises(DecisionError):
            validate_decision(Decision(kind, "D1"))


# ---------------------------------------------------------------------- the worked example


def test_demo_log_reads_the_six_decisions(demo):
    # the method's three changes (add, merge, fold) and three keeps; nothing else is
    # needed to reach METHOD.md's final framework
    assert [(d.ref, d.kind) for d in demo] == [
        ("D1", "add"),
        ("D2", "merge"),
        ("D3", "fold"),
        ("D4", "keep"),
        ("D5", "keep"),
        ("D6", "keep"),
    ]
    merge = demo[1]
    assert merge.targets == ("T4", "T5", "T6")
    assert merge.date == date(2021, 11, 10)
    assert "response:Max Tolley:T5" in merge.prompted_by
    assert merge.summary() == "merge T4, T5, T6 → T8 'Individual motivation vs structural issues'"


def test_replay_of_the_worked_example_gives_the_four_final_tensions(initial, demo):
    assert len(initial) == 6
    final = replay(initial, demo)
    assert (final.version, final.label) == (None, "current")
    got = [(t.code, t.name.lower(), [s.lower() for s in t.subthemes]) for t in final.tensions]
    assert got == FINAL
    t8 = final.get("T8")
    assert t8.origin == ("T4", "T5", "T6")
    # T8's evidence is every note of T4, T5 and T6, each once.
    notes = [n for c in ("T4", "T5", "T6") for n in initial.get(c).evidence.get("notes", [])]
    assert t8.evidence["notes"] == list(dict.fromkeys(notes))
    assert len(notes) > len(t8.evidence["notes"]) > 0  # shared notes are listed once
    assert len(initial) == 6  # the initial framework is untouched


# METHOD.md's worked example as a facilitator would type it: exactly its three changes.
METHOD_TRAIL = """
[[decisions]]
id = "D1"
kind = "add"
code = "T7"
name = "Motivation vs lack of skills"
pole_a = "Motivation"
pole_b = "Lack of skills"
rationale = "The discussion found a tension the pack lacked."

[[decisions]]
id = "D2"
kind = "merge"
targets = ["T4", "T5", "T6"]
code = "T8"
name = "Individual motivation vs structural issues"
pole_a = "Individual motivation"
pole_b = "Structural issues"
subthemes = ["Individual motivation for working in co-production", "Structural barriers"]
rationale = "Three cards told one story."

[[decisions]]
id = "D3"
kind = "fold"
target = "T7"
into = "T3"
subtheme = "Motivation versus skills"
rationale = "In the write-up the added tension is a sub-theme of T3."
"""

# F1..F4 of METHOD.md: code, name, poles, sub-themes, in order.
METHOD_FINAL = [
    (
        "T1",
        "idealistic, tokenistic vs realistic narratives",
        ("Idealistic, tokenistic narratives", "Realistic narratives"),
        [
            "lack of clarity on the meaning of co-production",
            "lack of funding for co-produced research",
        ],
    ),
    (
        "T2",
        "power differences and (lack of) reciprocity",
        ("Power differences and lack of reciprocity", "Shared power and reciprocity"),
        ["challenging traditional research approaches", "co-production as a creative endeavour"],
    ),
    (
        "T3",
        "excluding vs including language and communication",
        ("Excluding language and communication", "Including language and communication"),
        ["language and communication", "motivation versus skills"],
    ),
    (
        "T8",
        "individual motivation vs structural issues",
        ("Individual motivation", "Structural issues"),
        ["individual motivation for working in co-production", "structural barriers"],
    ),
]


def _as_method(framework: Framework) -> list:
    return [
        (t.code, t.name.lower(), (t.pole_a, t.pole_b), [s.lower() for s in t.subthemes])
        for t in framework.tensions
    ]


def test_the_methods_three_decisions_on_the_demo_v1_give_f1_to_f4(initial, demo):
    trail = read_decision_log(METHOD_TRAIL, source="method.toml")
    assert [d.kind for d in trail] == ["add", "merge", "fold"]
    assert len(initial) == 6
    final = replay(initial, trail)
    assert _as_method(final) == METHOD_FINAL
    # the demo's own log (the same three changes and three keeps) lands on the same
    assert _as_method(replay(initial, demo)) == METHOD_FINAL
    # no sub-theme from v1 is left over on T3, the tension that received the fold
    assert initial.get("T3").subthemes + ("Motivation versus skills",) == final.get("T3").subthemes


def test_reverting_the_merge_restores_t4_t5_t6_and_the_fold_still_works(initial, demo):
    undone = [replace(d, reverted=True) if d.kind == "merge" else d for d in demo]
    final = replay(initial, undone)
    assert final.codes == ["T1", "T2", "T3", "T4", "T5", "T6"]
    for code in ("T4", "T5", "T6"):
        assert final.get(code) == initial.get(code)
    assert final.get("T3").subthemes == ("Language and communication", "Motivation versus skills")
    assert "T7" not in final


def test_replay_skips_reverted_decisions_only(small):
    drop = Decision("drop", "D1", targets=("T1",))
    assert replay(small, [drop]).codes == ["T2", "T3"]
    assert replay(small, [replace(drop, reverted=True)]).codes == ["T1", "T2", "T3"]
    assert replay(small, []).tensions == small.tensions
    with pytest.raises(DecisionError, match="decision D2: T1 is not in the framework"):
        replay(small, [drop, Decision("keep", "D2", targets=("T1",))])


# ---------------------------------------------------------------------- lineage


def test_lineage_of_the_worked_example(initial, demo):
    edges = lineage(initial, demo)
    assert [(e.source, e.target) for e in edges] == [
        ("T1", "T1"),
        ("T2", "T2"),
        ("T3", "T3"),
        ("T4", "T8"),
        ("T5", "T8"),
        ("T6", "T8"),
        ("T7", "T3"),
    ]
    by_source = {e.source: e.path for e in edges}
    assert by_source["T1"] == by_source["T2"] == ("kept",)
    # T3 received the fold: it is not "unchanged", it gained a sub-theme
    assert by_source["T3"] == ("received T7 (folded)", "kept")
    assert by_source["T4"] == by_source["T5"] == by_source["T6"] == ("merged into T8",)
    # the keep of T3 after the fold is T3's, not the sub-theme's
    assert by_source["T7"] == ("added", "folded into T3")


def test_lineage_without_the_merge_and_without_keeps(initial, demo):
    edges = lineage(initial, [replace(d, reverted=d.kind == "merge") for d in demo[:3]])
    by_source = {e.source: e for e in edges}
    assert by_source["T4"] == LineageEdge("T4", "T4", ("unchanged",))
    assert by_source["T1"].path == ("unchanged",)
    assert by_source["T3"] == LineageEdge("T3", "T3", ("received T7 (folded)",))


def test_lineage_follows_splits_drops_and_renames(small):
    parts = (Tension("T9", "Nine", "a", "b"), Tension("T10", "Ten", "c", "d"))
    decisions = [
        Decision("split", "D1", targets=("T1",), parts=parts),
        Decision("rename", "D2", targets=("T2",), name="Two"),
        Decision("merge", "D3", targets=("T9", "T2"), code="T11", name="M", pole_a="a", pole_b="b"),
        Decision("drop", "D4", targets=("T3",)),
        Decision("reword", "D5", targets=("T11",), pole_a="z"),
        Decision("drop", "D6", targets=("T10",), reverted=True),
    ]
    assert lineage(small, decisions) == [
        LineageEdge("T1", "T11", ("split into T9", "merged into T11", "reworded")),
        LineageEdge("T1", "T10", ("split into T10",)),
        LineageEdge("T2", "T11", ("renamed", "merged into T11", "reworded")),
        LineageEdge("T3", None, ("dropped",)),
    ]
    assert replay(small, decisions).codes == ["T11", "T10"]


def test_lineage_of_a_folded_tension_follows_its_receiver(small):
    decisions = [
        Decision("add", "D1", code="T7", name="n", pole_a="a", pole_b="b"),
        Decision("fold", "D2", targets=("T7",), into="T3"),
        Decision("rename", "D3", targets=("T3",), name="Three"),
        Decision("merge", "D4", targets=("T3", "T2"), code="T8", name="M", pole_a="a", pole_b="b"),
    ]
    edges = {e.source: e for e in lineage(small, decisions)}
    assert edges["T7"] == LineageEdge("T7", "T8", ("added", "folded into T3", "merged into T8"))
    assert edges["T3"].path == ("received T7 (folded)", "renamed", "merged into T8")
    # a fold into a merged tension is received by every origin it was merged from
    again = [*decisions, Decision("add", "D5", code="T9", name="n", pole_a="a", pole_b="b")]
    again.append(Decision("fold", "D6", targets=("T9",), into="T8"))
    edges = {e.source: e for e in lineage(small, again)}
    assert edges["T2"].path == ("merged into T8", "received T9 (folded)")
    assert edges["T3"].path[-1] == "received T9 (folded)"
    assert edges["T7"].path == ("added", "folded into T3", "merged into T8")  # a sub-theme
    assert edges["T9"].path == ("added", "folded into T8")


def test_lineage_joins_parts_that_meet_again(small):
    parts = (Tension("T9", "Nine", "a", "b"), Tension("T10", "Ten", "c", "d"))
    decisions = [
        Decision("split", "D1", targets=("T1",), parts=parts),
        Decision("merge", "D2", targets=("T9", "T10"), code="T1", name="n", pole_a="a", pole_b="b"),
    ]
    edges = [e for e in lineage(small, decisions) if e.source == "T1"]
    assert edges == [LineageEdge("T1", "T1", ("split into T9", "merged into T1"))]


def test_lineage_raises_on_a_decision_that_cannot_apply(small):
    with pytest.raises(DecisionError, match="decision D1: T5 is not"):
        lineage(small, [Decision("drop", "D1", targets=("T5",))])


# ---------------------------------------------------------------------- dicts and summaries


def test_to_dict_is_json_ready_and_round_trips(demo):
    split = Decision(
        "split",
        "D9",
        targets=["T1"],
        parts=[Tension("T9", "n", "a", "b", subthemes=("s",)), Tension("T10", "m", "c", "d")],
        date=date(2021, 11, 10),
        prompted_by=["poll"],
        reverted=True,
    )
    for d in [*demo, split]:
        text = json.dumps(d.to_dict())
        assert Decision.from_dict(json.loads(text)) == d
    as_dict = split.to_dict()
    assert as_dict["date"] == "2021-11-10"
    assert as_dict["parts"][0]["code"] == "T9" and as_dict["targets"] == ["T1"]
    assert split.targets == ("T1",)  # lists become tuples


def test_summaries_are_one_line_and_name_what_changes(demo):
    summaries = [d.summary() for d in demo]
    assert summaries[0] == "add T7 'Motivation vs lack of skills'"
    assert summaries[2] == "fold T7 into T3 as sub-theme 'Motivation versus skills'"
    assert summaries[3] == "keep T1"
    subthemes = Decision("subthemes", "D9", targets=("T3",), subthemes=("Plain words", "Skills"))
    assert subthemes.summary() == "sub-themes of T3 → 'Plain words'; 'Skills'"
    split = Decision(
        "split", "D1", targets=("T1",), parts=(Tension("T9", "N", "a", "b"),) * 2, reverted=True
    )
    assert split.summary() == "split T1 → T9 'N', T9 'N' (reverted)"
    reword = Decision("reword", "D1", targets=("T2",), pole_b="Shared\npower")
    assert reword.summary() == "reword T2: pole B → 'Shared power'"
    assert all("\n" not in s for s in summaries)


# ---------------------------------------------------------------------- the plain-file log


def test_demo_decisions_survive_write_then_read(demo):
    text = write_decision_log(demo)
    again = read_decision_log(text)
    assert again == demo
    assert write_decision_log(again) == text
    parsed = tomllib.loads(text)
    assert set(parsed) == {"decisions"}
    fold = parsed["decisions"][2]
    assert (fold["target"], fold["into"]) == ("T7", "T3")  # the demo's own keys
    assert parsed["decisions"][1]["targets"] == ["T4", "T5", "T6"]
    assert "reverted" not in fold


def test_split_and_reverted_decisions_survive_write_then_read():
    decisions = [
        Decision(
            "split",
            "D1",
            targets=("T1",),
            parts=(
                Tension("T9", "Nine", "a", "b", description="multi\nline", subthemes=("x", "y")),
                Tension("T10", "Ten", "c", "d"),
            ),
            rationale="Why",
            date=date(2022, 1, 2),
        ),
        Decision("drop", "D2", targets=("T9",), reverted=True, prompted_by=("poll",)),
        Decision(
            "merge",
            "D3",
            targets=("T9", "T10"),
            code="T11",
            name="M",
            pole_a="a",
            pole_b="b",
            subthemes=(),
        ),
    ]
    text = write_decision_log(decisions)
    assert "[[decisions.parts]]" in text and "reverted = true" in text
    assert read_decision_log(text) == decisions


HOSTILE = [
    'quote " inside',
    'ends with a quote"',
    '"starts with a quote',
    'three """ quotes',
    '""""""',
    "back\\slash and \\n not a newline and \\",
    "line one\nline two\n",
    '\nstarts with a newline and ends with quotes\n""',
    "newline then triple\n\"\"\"\nand 'single' ''' quotes",
    "tab\there, carriage\r\nreturn, nul \x00 del \x7f bell \x07",
    "ends with a backslash\\\n\\",
    "unicode: café, 日本語, emoji 🌱, RTL \u202e text",
    '# not a comment\n[[decisions]]\nid = "D99"',
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_strings_survive_the_round_trip(text):
    d = Decision(
        "add",
        text[:40] or "D1",
        code="T9",
        name=text,
        pole_a=text,
        pole_b="b",
        description=text,
        subthemes=(text, "other"),
        rationale=text,
        proposer=text,
        prompted_by=(text,),
    )
    [again] = read_decision_log(write_decision_log([d]))
    assert again == d


@settings(max_examples=150, deadline=None)
@given(st.text(min_size=1).filter(str.strip), st.text())
def test_any_text_survives_the_round_trip(name, rationale):
    d = Decision("rename", "D1", targets=("T1",), name=name, rationale=rationale)
    assert read_decision_log(write_decision_log([d])) == [d]


def test_writer_refuses_what_the_reader_would_refuse():
    with pytest.raises(DecisionError, match="needs an id"):
        write_decision_log([Decision("keep", "", targets=("T1",))])
    with pytest.raises(DecisionError, match="decision D1: id is used by two"):
        write_decision_log([Decision("keep", "D1", targets=("T1",))] * 2)
    with pytest.raises(DecisionError, match="decision D1: a merge needs at least two"):
        write_decision_log([Decision("merge", "D1", targets=("T1",))])
    with pytest.raises(DecisionError, match="invalid character"):
        write_decision_log([Decision("rename", "D1", targets=("T1",), name="x\ud800")])


def test_reader_accepts_the_friendly_variants():
    text = """
[workshop]
date = "2021-11-10"

[[decisions]]
id = "D1"
kind = "keep"
targets = ["T1"]
date = 2021-11-10
"""
    [d] = read_decision_log(text)
    assert (d.targets, d.date, d.reverted, d.rationale) == (("T1",), date(2021, 11, 10), False, "")
    assert read_decision_log("") == []
    assert read_decision_log("[workshop]\nmode = 'online'\n") == []


def _entry(body: str, before: int = 2) -> str:
    """A log whose entry number ``before + 1`` is ``body``."""
    ok = "".join(
        f'[[decisions]]\nid = "D{i}"\nkind = "keep"\ntarget = "T1"\n\n'
        for i in range(1, before + 1)
    )
    return ok + "[[decisions]]\n" + body


@pytest.mark.parametrize(
    "body, problem",
    [
        ('id = "D3"\nkind = "mege"\ntarget = "T1"', "unknown kind 'mege'"),
        ('id = "D3"\ntarget = "T1"', "missing key 'kind'"),
        ('kind = "keep"\ntarget = "T1"', "missing key 'id'"),
        ('id = "D3"\nkind = "rename"\ntarget = "T1"', "missing key 'name' (a rename needs"),
        (
            'id = "D3"\nkind = "merge"\ntargets = ["T1", "T2"]\ncode = "T8"\nname = "n"\n'
            'pole_a = "a"',
            "missing key 'pole_b'",
        ),
        ('id = "D3"\nkind = "merge"\ntarget = "T1"\ncode = "T8"', "missing key 'targets'"),
        ('id = "D3"\nkind = "fold"\ntarget = "T7"', "missing key 'into'"),
        ('id = "D3"\nkind = "split"\ntarget = "T1"', "missing key 'parts'"),
        ('id = "D3"\nkind = "subthemes"\ntarget = "T1"', "missing key 'subthemes'"),
        ('id = "D3"\nkind = "add"\ncode = "T9"\nname = "n"\npole_a = "a"', "missing key 'pole_b'"),
        ('id = "D3"\nkind = "keep"\ntaget = "T1"', "unknown key 'taget'"),
        ('id = "D3"\nkind = "keep"\ntarget = "T1"\nname = "x"', "'name' does not apply to a keep"),
        ('id = "D3"\nkind = "keep"\ntarget = "T1"\ntargets = ["T1"]', "not both"),
        ('id = "D3"\nkind = "keep"\ntarget = 1', "target must be a string (got integer 1)"),
        ('id = "D3"\nkind = "subthemes"\ntarget = "T1"\nsubthemes = "a"', "list of strings"),
        ('id = "D3"\nkind = "keep"\ntarget = "T1"\nprompted_by = [1]', "list of strings"),
        ('id = "D3"\nkind = "keep"\ntarget = "T1"\nreverted = "yes"', "true or false"),
        ('id = "D3"\nkind = "keep"\ntarget = "T1"\ndate = "10/11/2021"', "not a date"),
        ('id = "D3"\nkind = "keep"\ntarget = "T1"\ndate = "2021-02-30"', "not a date"),
        ('id = "D3"\nkind = "keep"\ntarget = "T1"\ndate = 2021-11-10T10:00:00', "not a date"),
        ('id = "D3"\nkind = "keep"\ntargets = ["T1", "T2"]', "exactly one target"),
        (
            'id = "D3"\nkind = "merge"\ntargets = ["T1"]\ncode = "T8"\nname = "n"\npole_a = "a"\n'
            'pole_b = "b"',
            "at least two targets",
        ),
        ('id = "D3"\nkind = "fold"\ntarget = "T3"\ninto = "T3"', "cannot fold T3 into itself"),
        ('id = "D3"\nkind = "rename"\ntarget = "T1"\nname = ""', "name must not be empty"),
        (
            'id = "D3"\nkind = "split"\ntarget = "T1"\n[[decisions.parts]]\ncode = "T9"\n'
            'name = "n"\npole_a = "a"',
            "part 1: missing key 'pole_b'",
        ),
        (
            'id = "D3"\nkind = "split"\ntarget = "T1"\n[[decisions.parts]]\ncode = "T9"\n'
            'name = "n"\npole_a = "a"\npole_b = "b"\ncolour = "red"',
            "part 1: unknown key 'colour'",
        ),
        ('id = "D1"\nkind = "keep"\ntarget = "T1"', "id D1 is already used by entry 1"),
    ],
)
def test_log_errors_name_the_source_the_entry_and_the_problem(body, problem):
    with pytest.raises(DecisionError) as info:
        read_decision_log(_entry(body), source="notes.toml")
    message = str(info.value)
    assert problem in message
    ref = "D1" if "D1" in body else "D3" if 'id = "D3"' in body else None
    expected = "notes.toml, [[decisions]] entry 3" + (f", {ref}: " if ref else ": ")
    assert message.startswith(expected)


def test_a_toml_syntax_error_names_the_line():
    with pytest.raises(DecisionError) as info:
        read_decision_log('[[decisions]]\nid = "D1"\nkind = keep\n', source="log.toml")
    message = str(info.value)
    assert message.startswith("log.toml, line 3, column 8: not valid TOML: Invalid value")


def test_a_misspelt_table_is_not_read_as_an_empty_log():
    with pytest.raises(DecisionError, match=r"found \[\[decision\]\]"):
        read_decision_log('[[decision]]\nid = "D1"\nkind = "keep"\ntarget = "T1"\n')
    with pytest.raises(DecisionError, match="must be written as"):
        read_decision_log('decisions = ["D1"]\n')


def test_the_module_uses_the_standard_library_only():
    code = (
        "import sys, coprod_nb.domain.decisions; "
        "bad = [m for m in ('pandas', 'sqlalchemy', 'ipywidgets', 'matplotlib') "
        "if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_example_in_the_facilitators_guide_applies_as_described(initial):
    guide = (Path(__file__).resolve().parents[1] / "docs" / "decision-log.md").read_text(
        encoding="utf-8"
    )
    example = guide.split("```toml\n", 1)[1].split("```", 1)[0]
    decisions = read_decision_log(example, source="decision-log.md")
    assert {d.kind for d in decisions} == set(DECISION_KINDS)
    final = replay(initial, decisions)
    assert final.codes == ["T1", "T2", "T3", "T11", "T9"]
    assert final.get("T2").name == "Power and reciprocity"
    assert final.get("T3").pole_b == "Shared, plain language"
    assert final.get("T3").subthemes[-1] == "Skills for a mixed room"
    assert final.get("T11").subthemes == tuple(
        dict.fromkeys(initial.get("T4").subthemes + initial.get("T6").subthemes)
    )
    edges = {(e.source, e.target): e.path for e in lineage(initial, decisions)}
    assert edges[("T4", "T11")] == ("merged into T11",)
    assert edges[("T12", "T3")] == ("added", "folded into T3")
    assert edges[("T3", "T3")] == ("reworded", "received T12 (folded)")
    assert edges[("T5", "T9")] == ("split into T9",)
    assert edges[("T5", None)] == ("split into T10", "dropped")
