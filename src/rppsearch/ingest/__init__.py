"""Ingest: parse files, clean text, read metadata, split passages, store."""
