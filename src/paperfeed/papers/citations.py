"""Citation export: BibTeX, RIS and CSL-JSON for arXiv papers.

One plain value type, :class:`Citation`, and three pure functions that format a sequence of
them. Used by the user library export and by the instance export; nothing here touches the
database or the web layer.

Choices worth knowing:

- **BibTeX** entries are ``@misc`` with arXiv's own eprint fields (``eprint``, ``archivePrefix``,
  ``primaryClass``) as biblatex and natbib styles expect. Keys are ``<lastname><year><word>``
  (ASCII, lower case; the first title word that is not an article/preposition); repeated keys
  get ``a``, ``b``, ... appended. Titles are wrapped in double braces so styles keep their
  capitalisation. Text is escaped for the ten BibTeX/LaTeX special characters (braces as
  ``\\textbraceleft{}``/``\\textbraceright{}``: BibTeX counts ``\\{`` as a brace), except inline
  math (``$...$`` with balanced braces), which is kept verbatim so ``$O(n^2)$`` still renders.
  Non-ASCII text stays UTF-8 (biber and modern bibtex read it). ``url``/``doi``/``eprint`` are
  verbatim fields: only braces and backslashes (which would break the file) are dropped.
- **RIS** records are ``TY  - PREP`` with ``AU`` as ``Last, First``, ``PY``/``DA`` dates and
  ``ER  - ``, lines ending in CRLF as the RIS specification requires; values are single-line.
- **CSL-JSON** items use type ``article`` (CSL's type for preprints), ``publisher: arXiv`` and
  ``number: arXiv:<id>``, the shape Zotero and citeproc-js produce for arXiv papers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Citation", "citation_keys", "to_bibtex", "to_csl_json", "to_ris"]

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# words skipped when picking the title word of a citation key
_KEY_STOPWORDS = frozenset(
    {"a", "an", "the", "on", "of", "in", "for", "to", "and", "or", "with", "from", "by", "at", "as"}
    | {"is", "are", "via", "towards", "toward"}
)
_BIBTEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "{": r"\textbraceleft{}",
    "}": r"\textbraceright{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_INLINE_MATH = re.compile(r"\$([^$\n]+)\$")
_CRLF = "\r\n"


@dataclass(frozen=True)
class Citation:
    """What a citation needs to know about one paper."""

    arxiv_id: str
    title: str
    authors: list[str] = field(hash=False)
    published_at: datetime | None
    abstract: str
    primary_category: str | None
    doi: str | None = None
    journal_ref: str | None = None

    @property
    def url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}"


# --------------------------------------------------------------------------- helpers
def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def _split_name(name: str) -> tuple[str, str]:
    """``(family, given)`` of an author name written ``Given Family`` or ``Family, Given``."""
    name = _one_line(name)
    if "," in name:
        family, _, given = name.partition(",")
        return family.strip(), given.strip()
    parts = name.rsplit(" ", 1)
    if len(parts) == 1:
        return parts[0], ""
    return parts[1], parts[0]


def _ascii_word(text: str) -> str:
    """Lower-case ASCII letters and digits of ``text`` (accents folded: ``Gödel`` → ``godel``)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def _key_base(citation: Citation) -> str:
    family = _ascii_word(_split_name(citation.authors[0])[0]) if citation.authors else ""
    year = str(citation.published_at.year) if citation.published_at else ""
    word = ""
    plain_title = _INLINE_MATH.sub(" ", citation.title or "")
    for token in re.split(r"[\s\-/:]+", plain_title):
        candidate = _ascii_word(token)
        if candidate and not candidate.isdigit() and candidate not in _KEY_STOPWORDS:
            word = candidate
            break
    base = f"{family}{year}{word}"
    if not family:  # no usable author: fall back on the arXiv id
        base = "arxiv" + re.sub(r"[^a-z0-9]", "", citation.arxiv_id.lower()) + word
    return base


def _suffix(n: int) -> str:
    """1 → ``a``, 26 → ``z``, 27 → ``aa`` ..."""
    out = ""
    while n > 0:
        n, rest = divmod(n - 1, 26)
        out = chr(ord("a") + rest) + out
    return out


def citation_keys(citations: Iterable[Citation]) -> list[str]:
    """Unique BibTeX keys, in order: the first paper with a key keeps it, later ones get a, b, ..."""
    used: set[str] = set()
    keys = []
    for citation in citations:
        base = _key_base(citation)
        key, n = base, 0
        while key in used:
            n += 1
            key = base + _suffix(n)
        used.add(key)
        keys.append(key)
    return keys


def bibtex_escape(text: str) -> str:
    """Escape the BibTeX/LaTeX special characters of plain text (one pass, no double escaping)."""
    return "".join(_BIBTEX_ESCAPES.get(ch, ch) for ch in text)


def _balanced(text: str) -> bool:
    """Braces balance the way BibTeX counts them (a backslash does not escape a brace there)."""
    depth = 0
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and not text.endswith("\\")


def bibtex_text(text: str | None) -> str:
    """Escaped text with inline math kept verbatim when it is safe (balanced braces, no ``%``)."""
    text = _one_line(text)
    out = []
    pos = 0
    for match in _INLINE_MATH.finditer(text):
        math = match.group(1)
        if "%" in math or not _balanced(math):
            continue
        out.append(bibtex_escape(text[pos : match.start()]))
        out.append("$" + math + "$")
        pos = match.end()
    out.append(bibtex_escape(text[pos:]))
    return "".join(out)


def _verbatim(value: str) -> str:
    """A URL-like value: no whitespace, braces or backslashes (they would break the entry)."""
    return re.sub(r"[\s{}\\]", "", value)


def _bibtex_name(name: str) -> str:
    """One author for ``author = {...}``; names BibTeX would misparse are protected by braces."""
    escaped = bibtex_text(name)
    if re.search(r"\band\b", escaped, flags=re.IGNORECASE) or escaped.count(",") > 1:
        return "{" + escaped + "}"
    return escaped


# --------------------------------------------------------------------------- formats
def to_bibtex(citations: Iterable[Citation]) -> str:
    """A ``.bib`` file (UTF-8 text) with one ``@misc`` entry per citation, in the given order."""
    items = list(citations)
    entries = []
    for key, c in zip(citation_keys(items), items, strict=True):
        fields: list[tuple[str, str]] = [("title", "{{" + bibtex_text(c.title) + "}}")]
        authors = [_bibtex_name(a) for a in c.authors if _one_line(a)]
        if authors:
            fields.append(("author", "{" + " and ".join(authors) + "}"))
        if c.published_at:
            fields.append(("year", "{" + str(c.published_at.year) + "}"))
            fields.append(("month", MONTHS[c.published_at.month - 1]))
        fields.append(("eprint", "{" + _verbatim(c.arxiv_id) + "}"))
        fields.append(("archivePrefix", "{arXiv}"))
        if c.primary_category:
            fields.append(("primaryClass", "{" + _verbatim(c.primary_category) + "}"))
        if c.doi:
            fields.append(("doi", "{" + _verbatim(c.doi) + "}"))
        if c.journal_ref:
            fields.append(("note", "{" + bibtex_text(c.journal_ref) + "}"))
        fields.append(("url", "{" + _verbatim(c.url) + "}"))
        body = ",\n".join(f"  {name} = {value}" for name, value in fields)
        entries.append(f"@misc{{{key},\n{body}\n}}\n")
    return "\n".join(entries)


def _ris_author(name: str) -> str:
    family, given = _split_name(name)
    return f"{family}, {given}" if given else family


def to_ris(citations: Iterable[Citation]) -> str:
    """An RIS file: one ``TY  - PREP`` ... ``ER  - `` record per citation, CRLF line ends."""
    records = []
    for c in citations:
        lines = [("TY", "PREP"), ("TI", _one_line(c.title))]
        lines += [("AU", _ris_author(a)) for a in c.authors if _one_line(a)]
        if c.published_at:
            lines.append(("PY", f"{c.published_at.year:04d}"))
            lines.append(("DA", c.published_at.strftime("%Y/%m/%d")))
        if c.abstract and _one_line(c.abstract):
            lines.append(("AB", _one_line(c.abstract)))
        lines.append(("UR", c.url))
        if c.doi:
            lines.append(("DO", _one_line(c.doi)))
        if c.journal_ref:
            lines.append(("N1", _one_line(c.journal_ref)))
        lines.append(("PB", "arXiv"))
        lines.append(("M1", f"arXiv:{c.arxiv_id}"))
        if c.primary_category:
            lines.append(("KW", c.primary_category))
        lines.append(("ER", ""))
        records.append(_CRLF.join(f"{tag}  - {value}" for tag, value in lines) + _CRLF)
    return _CRLF.join(records)


def _csl_name(name: str) -> dict[str, str]:
    family, given = _split_name(name)
    if not given:
        return {"literal": family}
    return {"family": family, "given": given}


def to_csl_json(citations: Iterable[Citation]) -> list[dict[str, Any]]:
    """CSL-JSON items (a list ready for ``json.dumps``); ``id`` is the same key BibTeX uses."""
    items = list(citations)
    out = []
    for key, c in zip(citation_keys(items), items, strict=True):
        item: dict[str, Any] = {
            "id": key,
            "type": "article",
            "title": _one_line(c.title),
            "author": [_csl_name(a) for a in c.authors if _one_line(a)],
            "publisher": "arXiv",
            "number": f"arXiv:{c.arxiv_id}",
            "URL": c.url,
        }
        if c.published_at:
            p = c.published_at
            item["issued"] = {"date-parts": [[p.year, p.month, p.day]]}
        if c.abstract and _one_line(c.abstract):
            item["abstract"] = _one_line(c.abstract)
        if c.doi:
            item["DOI"] = c.doi.strip()
        if c.journal_ref:
            item["note"] = _one_line(c.journal_ref)
        if c.primary_category:
            item["keyword"] = c.primary_category
        out.append(item)
    return out
