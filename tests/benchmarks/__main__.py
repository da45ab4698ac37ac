"""``python -m tests.benchmarks``: run the benchmarks, print one table, write JSON."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from . import (
    test_concurrency,
    test_memory,
    test_normalize,
    test_reconcile_scale,
    test_requests,
    test_review_scale,
    test_side_by_side,
    test_sync_scale,
)
from .shared import ROOT, Section, machine, progress

TOPICS = {
    "normalize": test_normalize.run,
    "requests": test_requests.run,
    "concurrency": test_concurrency.run,
    "memory": test_memory.run,
    "side_by_side": test_side_by_side.run,
    "reconcile": test_reconcile_scale.run,
    "review": test_review_scale.run,
    "sync": test_sync_scale.run,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks",
        description="Measure what userdir costs; print a table and write benchmarks.json.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes: only checks that the benchmarks work"
    )
    parser.add_argument(
        "--only", action="append", choices=sorted(TOPICS), help="run this topic (repeatable)"
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=ROOT / "benchmarks.json",
        help="where to write the figures (default: %(default)s)",
    )
    args = parser.parse_args(argv)

    about = machine()
    print(
        f"userdir {about['userdir']} on {about['nproc']} x {about['cpu']}, {about['python']}, "
        f"pydantic {about['pydantic']}, httpx {about['httpx']}" + (" [quick]" if args.quick else "")
    )
    started = time.perf_counter()
    sections: list[Section] = []
    for topic, run in TOPICS.items():
        if args.only and topic not in args.only:
            continue
        progress(f"running {topic}...")
        topic_started = time.perf_counter()
        section = run(quick=args.quick)
        progress(f"  {topic}: {time.perf_counter() - topic_started:.1f} s")
        sections.append(section)
        print()
        print(section.render(), flush=True)
    elapsed = time.perf_counter() - started

    targets = [target for section in sections for target in section.targets]
    missed = [target for target in targets if not target.met]
    print()
    print(f"{len(targets) - len(missed)} of {len(targets)} targets met in {elapsed:.0f} s")
    args.json.write_text(
        json.dumps(
            {
                "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "quick": args.quick,
                "seconds": round(elapsed, 1),
                "machine": about,
                "sections": [section.to_dict() for section in sections],
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )
    progress(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
