"""Turn free text typed by a user into a safe tantivy query string.

Users never see a query-syntax error: everything that the tantivy parser would treat as syntax
(``+ - : ( ) [ ] { } ^ ~ * ? \\ / ! < > = & |`` and stray quotes) is neutralised, while two
useful habits are kept: ``"quoted phrases"`` stay phrases, and ``-word`` excludes a word.
"""

from __future__ import annotations

import re

_PHRASE = re.compile(r'"([^"]+)"')
_WORD_CHARS = re.compile(r"[^\w]+", re.UNICODE)


def _clean_words(text: str) -> list[str]:
    # lower-cased so that AND / OR / NOT / IN are words, never operators
    return [w.lower() for w in _WORD_CHARS.split(text) if w]


def build_query_string(text: str, *, max_chars: int = 250) -> str:
    """Return a tantivy query string equivalent to the user's ``text`` with no raw syntax left.

    An empty result means "nothing searchable" (the caller returns no hits).
    """
    text = (text or "")[:max_chars]
    parts: list[str] = []
    for phrase in _PHRASE.findall(text):
        words = _clean_words(phrase)
        if len(words) > 1:
            parts.append('"' + " ".join(words) + '"')
        elif words:
            parts.append(words[0])
    rest = _PHRASE.sub(" ", text).replace('"', " ")
    excluded: list[str] = []
    for token in rest.split():
        negative = token.startswith("-") and len(token) > 1
        words = _clean_words(token)
        if negative and len(words) == 1:
            excluded.append(words[0])
        else:
            parts.extend(words)
    if not parts:
        return ""
    query = " ".join(parts)
    if excluded:
        query += " " + " ".join(f"-{w}" for w in excluded)
    return query
