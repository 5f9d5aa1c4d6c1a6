"""Validation errors said as a person would: ``field: what is wrong``, one line, without
pydantic's own wording ("Value error, ...", "Input should be a valid integer, unable to
parse string as an integer") or list positions. Filters, metadata and the API's own
request checks all speak through it."""

from __future__ import annotations

from typing import Any

_PLAIN = {  # pydantic's error types, said as a person would
    "int_parsing": "{input!r} is not a whole number",
    "int_type": "{input!r} is not a whole number",
    "float_parsing": "{input!r} is not a number",
    "date_parsing": "{input!r} is not a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "{input!r} is not a date (YYYY-MM-DD)",
    "enum": "{input!r} is not one of {expected}",
    "missing": "required",
    "extra_forbidden": "not a known field",
}


def problem_text(err: Any, default_field: str = "request") -> str:
    """One of pydantic's errors as ``field: what is wrong``, in plain words (no "Value
    error, ...", no list positions)."""
    loc = [str(p) for p in err.get("loc", ()) if not isinstance(p, int)
           and p not in ("body", "query", "path", "header")]
    template = _PLAIN.get(err.get("type", ""))
    if template is not None:
        ctx = err.get("ctx") or {}
        message = template.format(input=err.get("input"), expected=ctx.get("expected", ""))
    else:
        message = str(err.get("msg", "invalid"))
        for prefix in ("Value error, ", "Assertion failed, "):
            message = message.removeprefix(prefix)
    return f"{'.'.join(loc) or default_field}: {message}"
