"""What userdir costs, measured against the naive loop and the rate-limit floor.

Run every benchmark, print the table and write ``benchmarks.json``::

    python -m tests.benchmarks            # full sizes, a few minutes
    python -m tests.benchmarks --quick    # tiny sizes: what ``pytest`` runs

One topic per ``test_*.py`` file, each with a ``run(quick=...)`` that returns
its figures and a test that runs it in quick mode and checks the figures are
sane (exact counts are asserted; times are printed, never asserted). Ratios
compare figures measured in the same run on the same machine.
"""
