"""`python -m rppsearch ...` runs the `rpp` command line."""

from .cli.main import main

if __name__ == "__main__":
    main()
