"""Teaching the method: exercises with self-check cells for the step notebooks.

See ``docs/teaching/`` for the instructor guide and the student handout.
"""

from coprod_nb.teaching.exercises import EXERCISES, Exercise, Result, check, exercises

__all__ = ["EXERCISES", "Exercise", "Result", "check", "exercises"]
