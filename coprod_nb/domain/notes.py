"""Step 1 vocabulary: note categories, kinds of auto-ethnographic data, prompts."""

from __future__ import annotations

RECALL = "recall"  # the name of step 1 in step closures and the event log

DEFAULT_CATEGORIES: tuple[str, ...] = ("practice", "barrier", "facilitator", "reflection")
DATA_KINDS: tuple[str, ...] = ("recalled memory", "self-observation", "self-reflection")

# Shipped reflective prompts (original text); a study can replace them in its settings.
DEFAULT_PROMPTS: tuple[str, ...] = (
    "What did this partnership's leaders mean when they said 'co-production'? "
    "Where did you hear that meaning change?",
    "Which practice in this conversation would you want to copy, and what made it possible?",
    "What got in the way of sharing power here: money, time, rules, habits, people?",
    "Where does the account sound more ideal than what you remember of such work? "
    "What would the realistic version say?",
    "Which words or formats kept people out, and which let them in?",
    "What does this passage bring back from your own time in a partnership? "
    "Write the memory down before you interpret it.",
    "Watch yourself reading: which passages made you agree too quickly, or bristle?",
    "Who had the skills, who had the motivation, and who had neither the time nor the mandate?",
)


def check_choice(value: str, allowed: tuple[str, ...] | list[str], what: str) -> str:
    """Return ``value`` if it is one of ``allowed``; raise ValueError naming the choices."""
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)} (got {value!r})")
    return value
