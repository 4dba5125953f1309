"""After the workshop: the reflective questions offered to each partnership's leaders.

The tensions are spectra, not verdicts; leaders work out their response to them with
questions on six topics (METHOD.md, "After the workshop"). The wording is our own.
"""

from __future__ import annotations

__all__ = ["REFLECTIVE_TOPICS", "check_topic", "topic_title"]

#: (short title, question) for topics 1..6, in the method's order.
REFLECTIVE_TOPICS: tuple[tuple[str, str], ...] = (
    (
        "Vision and definition",
        "What does co-production mean in your partnership, in a sentence your partners "
        "would sign? Where is that meaning written into your strategy, your governance "
        "and the way the partnership is organised?",
    ),
    (
        "Language and communication",
        "Which words, formats and channels will carry that vision to the people inside "
        "the collaboration and to those outside it? Who checks that they are understood?",
    ),
    (
        "Sharing power",
        "How much power are you ready to share with the other leaders, and over which "
        "decisions? How will you handle the uncertainty that sharing it brings?",
    ),
    (
        "Capacity and capability",
        "What capacity do you have now to support co-production? How will you grow the "
        "skills and confidence of your staff and contributors, and protect their time?",
    ),
    (
        "Resources",
        "What resources (money, time, people, space) does co-production need here, and "
        "how are they shared out across the collaboration? Who decides?",
    ),
    (
        "Reviewing progress",
        "How, and how often, will you look back at your progress together with your "
        "external partners, and what would make you change course?",
    ),
)


def check_topic(topic: object) -> int:
    """The topic number 1..6 as an int; ValueError naming the range otherwise."""
    if isinstance(topic, bool) or not isinstance(topic, int | str):
        raise ValueError(f"a reflective topic is a number 1-{len(REFLECTIVE_TOPICS)}")
    try:
        number = int(topic)
    except ValueError:
        raise ValueError(
            f"a reflective topic is a number 1-{len(REFLECTIVE_TOPICS)} (got {topic!r})"
        ) from None
    if not 1 <= number <= len(REFLECTIVE_TOPICS):
        raise ValueError(f"a reflective topic is a number 1-{len(REFLECTIVE_TOPICS)} (got {topic})")
    return number


def topic_title(topic: int) -> str:
    """``"1. Vision and definition"``: the numbered short title of a topic."""
    return f"{topic}. {REFLECTIVE_TOPICS[check_topic(topic) - 1][0]}"
