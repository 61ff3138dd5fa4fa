"""BibTeX, RIS and CSL-JSON output of ``paperfeed.papers.citations``.

No BibTeX library is installed, so the tests parse the output back with a small brace-counting
reader that follows BibTeX's own rule (a backslash does not escape a brace).
"""

from __future__ import annotations

import json
import re
from datetime import datetime

from paperfeed.papers.citations import Citation, citation_keys, to_bibtex, to_csl_json, to_ris

MATH = Citation(
    arxiv_id="2403.01234",
    title="On $O(n^{2})$ bounds for {Sets} & 100% of x_1 ~ y^2 #tags \\cite in $\\{bad$",
    authors=["Kurt Gödel", "Research and Development Team", "van der Berg, Jan"],
    published_at=datetime(2024, 3, 5, 17, 0),
    abstract="We study\n  things with $\\alpha$.",
    primary_category="cs.LG",
    doi="10.1000/x_y",
    journal_ref="J. Foo 12 (2024) 1-10 & more",
)
OLD_STYLE = Citation(
    arxiv_id="hep-th/9901001",
    title="The Large N Limit of Superconformal Field Theories",
    authors=["Juan Maldacena"],
    published_at=datetime(1999, 1, 1),
    abstract="Old abstract.",
    primary_category="hep-th",
)


def parse_bibtex(text: str) -> list[tuple[str, str, dict[str, str]]]:
    """``[(type, key, {field: raw value})]``; fails on unbalanced braces or stray text."""
    entries = []
    pos = 0
    while True:
        start = text.find("@", pos)
        if start < 0:
            assert not text[pos:].strip(), f"stray text {text[pos:]!r}"
            return entries
        assert not text[pos:start].strip(), f"stray text {text[pos:start]!r}"
        head = re.compile(r"@(\w+)\{([^,\s]+),").match(text, start)
        assert head, text[start : start + 40]
        depth, i = 1, head.end()
        while depth:
            assert i < len(text), "unbalanced braces"
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        body = text[head.end() : i - 1]
        fields: dict[str, str] = {}
        j = 0
        while j < len(body):
            match = re.compile(r"\s*(\w+)\s*=\s*").match(body, j)
            if not match:
                assert not body[j:].strip(" ,\n"), body[j:]
                break
            name, j = match.group(1), match.end()
            if body[j] == "{":
                d, k = 0, j
                while True:
                    d += {"{": 1, "}": -1}.get(body[k], 0)
                    k += 1
                    if d == 0:
                        break
                fields[name] = body[j + 1 : k - 1]
            else:
                k = j
                while k < len(body) and body[k] not in ",\n":
                    k += 1
                fields[name] = body[j:k].strip()
            assert name not in fields or fields[name] is not None
            j = k
            while j < len(body) and body[j] in " ,\n":
                j += 1
        entries.append((head.group(1), head.group(2), fields))
        pos = i


def test_bibtex_fields_and_escaping():
    text = to_bibtex([MATH, OLD_STYLE])
    (kind, key, fields), (_, key2, old) = parse_bibtex(text)
    assert kind == "misc" and key == "godel2024bounds"
    # double braces keep capitalisation; inline math with balanced braces is kept verbatim
    title = fields["title"]
    assert title.startswith("{") and title.endswith("}")
    assert "$O(n^{2})$" in title
    assert r"\textbraceleft{}Sets\textbraceright{}" in title
    for escaped in (r"\&", r"100\%", r"x\_1", r"\textasciitilde{}", r"y\textasciicircum{}2", r"\#tags"):
        assert escaped in title, escaped
    assert r"\textbackslash{}cite" in title
    assert r"\$\textbackslash{}\textbraceleft{}bad\$" in title  # unbalanced math is escaped instead
    assert fields["author"] == "Kurt Gödel and {Research and Development Team} and van der Berg, Jan"
    assert fields["year"] == "2024" and fields["month"] == "mar"
    assert fields["eprint"] == "2403.01234" and fields["archivePrefix"] == "arXiv"
    assert fields["primaryClass"] == "cs.LG"
    assert fields["doi"] == "10.1000/x_y"
    assert fields["url"] == "https://arxiv.org/abs/2403.01234"
    assert fields["note"] == r"J. Foo 12 (2024) 1-10 \& more"
    assert "Gödel" in text  # UTF-8 kept, not LaTeX accents
    assert key2 == "maldacena1999large"
    assert old["eprint"] == "hep-th/9901001" and old["primaryClass"] == "hep-th"
    assert old["url"] == "https://arxiv.org/abs/hep-th/9901001"
    assert "doi" not in old and "note" not in old


def test_bibtex_keys_are_unique():
    twins = [OLD_STYLE, OLD_STYLE, OLD_STYLE]
    assert citation_keys(twins) == ["maldacena1999large", "maldacena1999largea", "maldacena1999largeb"]
    keys = [key for _, key, _ in parse_bibtex(to_bibtex(twins))]
    assert len(set(keys)) == 3
    anonymous = Citation("2501.00001", "", [], None, "", None)
    assert citation_keys([anonymous]) == ["arxiv250100001"]
    assert parse_bibtex(to_bibtex([anonymous]))[0][2]["title"] == "{}"


def test_bibtex_never_unbalanced_for_hostile_text():
    nasty = Citation(
        "2501.00002", "}}}{ $}{$ \\", ["}{ Evil", "a\\"], datetime(2025, 1, 2), "", "cs.CL", "10.1/{x}"
    )
    ((_, _, fields),) = parse_bibtex(to_bibtex([nasty]))
    assert fields["doi"] == "10.1/x"
    assert "textbraceright" in fields["title"]


def test_ris_records():
    text = to_ris([MATH, OLD_STYLE])
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    records = [r for r in text.split("\r\n\r\n") if r.strip()]
    assert len(records) == 2
    lines = records[0].split("\r\n")
    assert lines[0] == "TY  - PREP"
    assert [line for line in lines if line][-1] == "ER  - "
    assert text.endswith("ER  - \r\n")
    assert all(re.fullmatch(r"[A-Z][A-Z0-9]  - .*", line) for line in lines if line)
    tags = [line.split("  - ", 1) for line in lines if line]
    assert ["AU", "Gödel, Kurt"] in tags and ["AU", "van der Berg, Jan"] in tags
    assert ["PY", "2024"] in tags and ["DA", "2024/03/05"] in tags
    assert ["DO", "10.1000/x_y"] in tags and ["UR", "https://arxiv.org/abs/2403.01234"] in tags
    assert ["AB", "We study things with $\\alpha$."] in tags  # one line
    assert ["TI", MATH.title] in tags
    assert "M1  - arXiv:hep-th/9901001" in records[1]


def test_csl_json():
    items = to_csl_json([MATH, OLD_STYLE])
    json.dumps(items)  # serialisable
    first, second = items
    assert first["id"] == "godel2024bounds" and first["type"] == "article"
    assert first["author"][0] == {"family": "Gödel", "given": "Kurt"}
    assert first["issued"] == {"date-parts": [[2024, 3, 5]]}
    assert first["DOI"] == "10.1000/x_y" and first["URL"] == "https://arxiv.org/abs/2403.01234"
    assert first["abstract"] == "We study things with $\\alpha$."
    assert second["number"] == "arXiv:hep-th/9901001" and "DOI" not in second
