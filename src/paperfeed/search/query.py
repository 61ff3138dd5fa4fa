"""Turn free text typed by a user into a safe tantivy query string.

Users never see a query-syntax error: everything that the tantivy parser would treat as syntax
(``+ - : ( ) [ ] { } ^ ~ * ? \\ / ! < > = & |`` and stray quotes) is neutralised, while two
useful habits are kept: ``"quoted phrases"`` stay phrases, and ``-word`` excludes a word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PHRASE = re.compile(r'"([^"]+)"')

# Lucene's English stop words: dropped from free words (not from phrases) at query time, because
# they match nearly every abstract and cost the most while adding almost nothing to the ranking.
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "if",
        "in",
        "into",
        "is",
        "it",
        "no",
        "not",
        "of",
        "on",
        "or",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "will",
        "with",
    ]
)
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


@dataclass
class UserQuery:
    """A user's search text split into searchable parts (all lower-cased, syntax-free)."""

    words: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)  # each a space-joined run of words
    excluded: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.words or self.phrases)


def parse_user_query(text: str, *, max_chars: int = 250) -> UserQuery:
    """Split ``text`` into free words (stop words dropped unless nothing else is left),
    quoted phrases and ``-excluded`` words."""
    text = (text or "")[:max_chars]
    query = UserQuery()
    for phrase in _PHRASE.findall(text):
        words = _clean_words(phrase)
        if len(words) > 1:
            query.phrases.append(" ".join(words))
        else:
            query.words.extend(words)
    for token in _PHRASE.sub(" ", text).replace('"', " ").split():
        words = _clean_words(token)
        if token.startswith("-") and len(token) > 1 and len(words) == 1:
            query.excluded.append(words[0])
        else:
            query.words.extend(words)
    content = [w for w in query.words if w not in STOP_WORDS]
    query.words = list(dict.fromkeys(content if content or query.phrases else query.words))
    return query
