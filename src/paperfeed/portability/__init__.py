"""Whole-instance export and import (``paperfeed export`` / ``paperfeed import``).

``format`` defines the JSON Lines records, ``export`` writes them (and BibTeX/RIS citations),
``importer`` reads them back into an empty instance in one transaction. SQL lives in
``paperfeed.db.portability_store``.
"""

from __future__ import annotations

from paperfeed.portability.export import ExportReport, export_citations, export_instance, open_output
from paperfeed.portability.importer import ImportReport, InstanceNotEmpty, import_instance

__all__ = [
    "ExportReport",
    "ImportReport",
    "InstanceNotEmpty",
    "export_citations",
    "export_instance",
    "import_instance",
    "open_output",
]
