"""``python -m costgraph``: the same command line as the ``costgraph`` script."""

from costgraph.cli import main

if __name__ == "__main__":
    main()
