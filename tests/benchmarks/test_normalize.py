"""Normalization throughput: provider JSON to ``User``, per provider.

Timed in the same run, on the same seeded records:

* ``<Wire>.model_validate``: the bare pydantic validation of the provider's wire
  model, the baseline every ratio is against;
* ``normalize(record)``: the adapter's function (wire model, then ``User``);
* ``Provider.normalize``: the same through the pluggy hook, as listings call it;
* ``User.model_validate``: the ``User`` half alone (already-normalized fields),
  to show where the time goes;
* the same fields into a copy of ``User`` without its Python validators: what
  pydantic itself needs for the ``User`` half. Wire plus this is the floor of
  any design that validates the record twice.

Target: ``Provider.normalize`` within 1.5x of the bare wire validation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel, create_model

from userdir import User
from userdir.testing import sandbox_provider
from userdir_ejento.wire import EjentoUser
from userdir_freddy.wire import FreddyUser
from userdir_pneumatic.wire import PneumaticUser

from .shared import (
    NORMALIZE,
    PROVIDERS,
    Section,
    Target,
    best_of,
    ratio,
    records,
)

pytestmark = pytest.mark.benchmark

RECORDS = {False: 5_000, True: 100}  # per provider
REPEATS = {False: 5, True: 1}
TARGET = 1.5

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
        fields = [NORMALIZE[name](r).model_dump(exclude=COMPUTED) for r in wire_json]
        paths: list[tuple[str, Callable[[Any], object], list[Any]]] = [
            (f"{WIRE[name].__name__}.model_validate (bare)", WIRE[name].model_validate, wire_json),
            ("adapter normalize(record)", NORMALIZE[name], wire_json),
            ("Provider.normalize (hook)", provider.normalize, wire_json),
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
        floor = ratio(bare + timings["  User without its validators"], bare)
        section.rows.append(
            {"provider": name, "path": "  floor: bare + User without validators", "x bare": floor}
        )
        hooked = ratio(timings["Provider.normalize (hook)"], bare)
        section.targets.append(
            Target(
                f"{name} Provider.normalize vs bare",
                f"<= {TARGET}x",
                f"{hooked:.2f}x",
                hooked <= TARGET,
            )
        )
    section.notes += [
        "normalize validates twice: the wire model, then User; 'of which' times the User half "
        "alone, with its validators (blank -> None, UTC, raw depth, full name) and without",
        "the floor is what two validations cost with no Python at all: no design that "
        "keeps both can reach 1.5x",
    ]
    return section


def test_normalization_figures_are_sane() -> None:
    section = run(quick=True)
    assert len(section.rows) == 6 * len(PROVIDERS)
    timed = [row for row in section.rows if "us/user" in row]
    assert len(timed) == 5 * len(PROVIDERS)
    for row in timed:
        assert row["us/user"] > 0
        assert row["users/s"] > 0
    bare = [row for row in section.rows if row["path"].endswith("(bare)")]
    assert all(row["x bare"] == 1 for row in bare)
    assert len(section.targets) == len(PROVIDERS)
