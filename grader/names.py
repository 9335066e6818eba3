"""Names from a roster as nbgrader's gradebook keeps them (`collect --roster`)."""

from __future__ import annotations

import re

NAME_CHARS = 100  # a first or last name, or an email, as the gradebook keeps it
_NOT_IN_NAMES = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def gradebook_name(text: object) -> str:
    """A roster's name or email as nbgrader's gradebook may keep it: no markup, one short line.

    nbgrader 0.9.6's formgrader page renders a student's first and last name unescaped
    (templates/formgrade/formgrade_macros.html.j2: `{{ resources.last_name }}`), so a roster
    name `<img src=x onerror=...>` would run script there. `<` and `>` become the look-alike
    `‹` and `›` (no tag can open), control characters and line breaks a space, and the name is
    cut at NAME_CHARS characters. The roster kept for `export` holds the LMS's own text.
    """
    text = _NOT_IN_NAMES.sub(" ", str(text or "")).replace("<", "\u2039").replace(">", "\u203a")
    return " ".join(text.split())[:NAME_CHARS]
