"""The trending formula, in one place so that docs, settings and code agree.

    score = upvotes / (age_hours + offset_hours) ** gravity

``age_hours`` is the time since the paper was featured (its feed entry), measured from the
reference instant. Defaults (``PAPERFEED_TRENDING_*``): gravity 1.8, offset 2 h, window 7 days —
the Hacker News shape: a paper needs ever more votes to stay on top as it ages.
"""

from __future__ import annotations

from datetime import datetime


def trending_score(
    upvotes: int, featured_at: datetime, reference: datetime, *, gravity: float, offset_hours: float
) -> float:
    """Time-decayed score of one paper (naive UTC datetimes; future entries count as age 0)."""
    age_hours = max((reference - featured_at).total_seconds() / 3600.0, 0.0)
    return max(upvotes, 0) / (age_hours + offset_hours) ** gravity
