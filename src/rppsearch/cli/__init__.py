"""The `rpp` command line: thin typer wrappers over keyword-only library functions."""
