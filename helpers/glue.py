"""Numbers a lesson's text quotes, taken from the cell that computed them.

`glue(name, value)` hands `value` to the book (myst-nb's glue), where the text shows it with
``{glue:text}`name:.4f` `` in a Markdown cell, so no build can print one number and say another.
Where myst-nb is not installed (a notebook opened in Colab) nothing is shown and nothing fails:
the value is kept in `GLUED`, so a lesson may still print it.
"""

from __future__ import annotations

from typing import Any

GLUED: dict[str, Any] = {}


def glue(name: str, value: Any, display: bool = False) -> Any:
    """Give `value` to the book under `name` (shown in the text with {glue:text}); return it."""
    value = _plain(value)
    GLUED[name] = value
    try:
        from myst_nb import glue as myst_glue
    except ImportError:  # no book tools here (e.g. Colab): the value is still returned
        return value
    myst_glue(name, value, display=display)
    return value


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python number it holds: myst-nb formats a glued number (`:.4f`)
    from its text, and NumPy 2 writes `np.float64(0.97)`, which it cannot read."""
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", None) == 0:
        return item()
    return value
