"""The Datasette plugin as a small package (`rppsearch.web.hooks` is the entry point).

Not named `datasette`, which would shadow the library inside this package.
"""
