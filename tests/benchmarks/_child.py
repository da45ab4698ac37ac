"""Benchmark work that needs a process of its own.

``python -m tests.benchmarks._child JOB ARGS...``; the last line of stdout is
the job's JSON (read by :func:`tests.benchmarks.shared.run_child`):

* ``stream SIZE``: list SIZE lazily generated users, report peak memory growth
  (and the memory of a listing's duplicate guard for SIZE ids on its own);
* ``reconcile TOTAL``: reconcile TOTAL users of three providers, time and memory;
* ``review TOTAL``: review TOTAL users of three providers against a roster;
* ``sync TOTAL``: sync TOTAL users of three lazy sandboxes into DuckDB, twice;
* ``serve SIZE``: serve three sandboxes of SIZE users until stdin closes;
* ``serve_freddy SIZE``: serve SIZE Freddy users until stdin closes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any


def main(argv: list[str]) -> None:
    from . import (
        test_concurrency,
        test_memory,
        test_reconcile_scale,
        test_review_scale,
        test_side_by_side,
        test_sync_scale,
    )

    jobs: dict[str, Callable[[int], dict[str, Any] | None]] = {
        "stream": test_memory.stream,
        "reconcile": test_reconcile_scale.reconcile_job,
        "review": test_review_scale.review_job,
        "sync": test_sync_scale.sync_job,
        "serve": test_concurrency.serve,
        "serve_freddy": test_side_by_side.serve_freddy,
    }
    job, size = argv
    result = jobs[job](int(size))
    if result is not None:
        print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
