"""Ingest: read papers from outside sources into one normalised record type, then store them."""
