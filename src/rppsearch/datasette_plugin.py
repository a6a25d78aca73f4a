"""Datasette plugin: SQL functions, metadata and the /-/rpp-search page (see issue 6)."""
