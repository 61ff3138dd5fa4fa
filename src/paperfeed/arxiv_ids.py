"""arXiv identifier parsing: accept ids, versioned ids and arXiv URLs; return the bare id."""

from __future__ import annotations

import re

from paperfeed.errors import InvalidInput

_NEW_STYLE = r"\d{4}\.\d{4,5}"
_OLD_STYLE = r"[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7}"
_ID = re.compile(rf"^(?P<id>{_NEW_STYLE}|{_OLD_STYLE})(?:v(?P<version>\d+))?$")
_URL = re.compile(
    r"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/(?P<rest>[^?#]+?)(?:\.pdf)?/?(?:[?#].*)?$",
    re.IGNORECASE,
)


def normalize_arxiv_id(raw: str) -> str:
    """Return the canonical, version-less arXiv id for ``raw``.

    Accepts ``2403.01234``, ``2403.01234v2``, ``arXiv:2403.01234``, ``hep-th/9901001v1`` and
    ``https://arxiv.org/abs/2403.01234v2`` (also ``/pdf/...``). Raises :class:`InvalidInput`.
    """
    value = (raw or "").strip()
    match = _URL.match(value)
    if match:
        value = match.group("rest")
    if value.lower().startswith("arxiv:"):
        value = value[6:]
    parsed = _ID.match(value)
    if not parsed:
        shown = raw if len(raw or "") <= 60 else raw[:57] + "..."
        raise InvalidInput(f"not an arXiv id: {shown!r}")
    return parsed.group("id")


def is_arxiv_id(raw: str) -> bool:
    """True when ``raw`` is (or contains, as a URL/versioned form) a valid arXiv id."""
    try:
        normalize_arxiv_id(raw)
    except InvalidInput:
        return False
    return True
