"""Pure helpers for the operational surface: the problem-type pages."""

from __future__ import annotations

import inspect
from html import escape

from keel.kit.errors import PROBLEM_CATALOG

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} ({code}) - Keel</title></head>
<body><main>
<h1>{title}</h1>
<p>HTTP status <strong>{status}</strong>, problem code <code>{code}</code>.</p>
<p>{explanation}</p>
<p><a href="/">Keel</a></p>
</main></body></html>
"""


def problem_page(code: str) -> str | None:
    cls = PROBLEM_CATALOG.get(code)
    if cls is None:
        return None
    explanation = " ".join(inspect.cleandoc(cls.__doc__ or cls.title).split())
    return _PAGE.format(
        title=escape(cls.title), code=escape(cls.code), status=cls.status,
        explanation=escape(explanation),
    )
