"""Normalization throughput: provider JSON to ``User``, per provider.

Timed in the same run, on the same seeded records:

* ``<Wire>.model_validate``: one bare pydantic validation of the provider's
  documented wire model (kept in ``wire.py`` for this), the baseline every
  ratio is against: what a hand-written client pays per record;
* ``adapter.normalize(record)``: the adapter's method, one validation straight
  into ``User`` (no wire model on the way);
* ``Provider.normalize``: the same through the core's wrapper (its checks and
  error naming), as listings call it;
* ``User.model_validate``: ``User`` alone from already-normalized fields, with
  its two Python passes (before: ids, blanks, surrogates, roles, full name;
  after: UTC);
* the same fields into a copy of ``User`` without its Python validators: what
  pydantic itself needs for a ``User``. The gap between the last two is the
  cost of ``User``'s own rules, paid by any adapter.

Target (issue 14): ``Provider.normalize`` within 1.3x of the bare wire validation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel, create_model

from userdir import User
from userdir_ejento.wire import EjentoUser
from userdir_freddy.wire import FreddyUser
from userdir_pneumatic.wire import PneumaticUser

from .shared import (
    PROVIDERS,
    Section,
    Target,
    best_of,
    ratio,
    records,
    sandbox_provider,
)

pytestmark = pytest.mark.benchmark

RECORDS = {False: 5_000, True: 100}  # per provider
REPEATS = {False: 5, True: 1}
TARGET = 1.3

WIRE: dict[str, type[BaseModel]] = {
    "freddy": FreddyUser,
    "pneumatic": PneumaticUser,
    "ejento": EjentoUser,
}
COMPUTED = {"id", "email_normalized", "is_active"}
#: ``User``'s fields and settings, none of its validators.
BareUser = create_model(
    "BareUser",
    __config__=User.model_config,
    **{name: (info.annotation, info) for name, info in User.model_fields.items()},  # type: ignore[call-overload]
)


def _per_record(function: Callable[[Any], object], items: list[Any]) -> Callable[[], None]:
    def run() -> None:
        for item in items:
            function(item)

    return run


def run(*, quick: bool = False) -> Section:
    size, repeats = RECORDS[quick], REPEATS[quick]
    section = Section(
        "normalize",
        f"1. Normalization throughput ({size:,} seeded records per provider, best of {repeats})",
        ("provider", "path", "us/user", "users/s", "x bare"),
    )
    for name in PROVIDERS:
        wire_json = records(name, size)
        provider = sandbox_provider(name)
        fields = [provider.normalize(r).model_dump(exclude=COMPUTED) for r in wire_json]
        paths: list[tuple[str, Callable[[Any], object], list[Any]]] = [
            (f"{WIRE[name].__name__}.model_validate (bare)", WIRE[name].model_validate, wire_json),
            ("adapter.normalize(record)", provider.adapter.normalize, wire_json),
            ("Provider.normalize (core wrapper)", provider.normalize, wire_json),
            ("  of which User.model_validate", User.model_validate, fields),
            ("  User without its validators", BareUser.model_validate, fields),
        ]
        timings: dict[str, float] = {}
        for label, function, items in paths:
            work = _per_record(function, items)
            work()  # warm up: schema caches, first allocations
            timings[label] = best_of(repeats, work) / size
        bare = timings[paths[0][0]]
        for label, seconds in timings.items():
            section.rows.append(
                {
                    "provider": name,
                    "path": label,
                    "us/user": seconds * 1e6,
                    "users/s": round(1 / seconds),
                    "x bare": ratio(seconds, bare),
                }
            )
        hooked = ratio(timings["Provider.normalize (core wrapper)"], bare)
        section.targets.append(
            Target(
                f"{name} Provider.normalize vs bare",
                f"<= {TARGET}x",
                f"{hooked:.2f}x",
                hooked <= TARGET,
            )
        )
    section.notes += [
        "normalize validates once, straight into User; 'of which' times User alone from "
        "ready fields, with its two Python passes (before: ids, blanks, surrogates, roles, "
        "full name; after: UTC) and without them",
        "User without its validators is about the bare wire validate: the rest of the gap is "
        "User's own rules (Python, per record) and the adapter's field mapping",
    ]
    return section


def test_normalization_figures_are_sane() -> None:
    section = run(quick=True)
    assert len(section.rows) == 5 * len(PROVIDERS)
    for row in section.rows:
        assert row["us/user"] > 0
        assert row["users/s"] > 0
    bare = [row for row in section.rows if row["path"].endswith("(bare)")]
    assert all(row["x bare"] == 1 for row in bare)
    assert len(section.targets) == len(PROVIDERS)
