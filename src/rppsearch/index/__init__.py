"""Derived indexes: FTS5 query building (`lexical`), the dense matrix (`vectors`), manifests."""
