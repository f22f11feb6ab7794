"""``python -m churnpredict``: the ``churnpredict`` command."""

from churnpredict.cli import main

if __name__ == "__main__":  # pragma: no cover
    main()
