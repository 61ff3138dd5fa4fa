"""Search: keyword (BM25, tantivy) index behind a small interface, kept in sync with the database."""
