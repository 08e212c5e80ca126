"""The builtin health checks answer from the real machine."""

from __future__ import annotations

from symphony.builtin_plugins.data.plugin import _sqlite
from symphony.builtin_plugins.ipc.codecs import _round_trip
from symphony.sandbox.probe import probe


def test_codecs_round_trip_an_envelope() -> None:
    status = _round_trip()
    assert status.status == "ok" and status.details["codecs"] == ["msgpack", "json"]


def test_sqlite_check_reports_the_library_version() -> None:
    import sqlite3

    assert _sqlite().details["sqlite"] == sqlite3.sqlite_version


def test_the_sandbox_probe_finds_landlock_on_this_kernel() -> None:
    confinement = probe()
    assert confinement.landlock_abi >= 1, "these machines run kernels with Landlock; the probe must see it"
    assert confinement.rlimits and confinement.seccomp
