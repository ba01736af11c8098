"""``python -m hicenv``: the ``hicenv`` command."""

from hicenv_agents.cli import run_as_main

if __name__ == "__main__":
    run_as_main()
