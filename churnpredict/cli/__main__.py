"""``python -m churnpredict.cli``: the ``churnpredict`` command."""

from . import main

if __name__ == "__main__":  # pragma: no cover
    main()
