"""``symphony artifacts``: the real command over a fresh data directory."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import pty
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import SYMPHONY

if TYPE_CHECKING:
    from tests.conftest import Symphony


@pytest.fixture
def cli(symphony: Callable[..., Symphony]) -> Symphony:
    return symphony()


def _id(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _put(cli: Symphony, tmp_path: Path, data: bytes, *args: str) -> str:
    artifact_id: str = _put_json(cli, tmp_path, data, *args)["artifact_id"]
    return artifact_id


def _put_json(cli: Symphony, tmp_path: Path, data: bytes, *args: str) -> dict[str, Any]:
    source = tmp_path / "source.bin"
    source.write_bytes(data)
    document: dict[str, Any] = cli.json("artifacts", "put", str(source), *args)
    return document


def test_put_prints_the_content_id_and_size(cli: Symphony, tmp_path: Path) -> None:
    data = b"the same bytes\n"
    source = tmp_path / "a.txt"
    source.write_bytes(data)
    document = cli.json("artifacts", "put", str(source))
    assert document == {"artifact_id": _id(data), "size": len(data), "name": None, "version": None}


def test_put_reads_standard_input_for_a_dash(cli: Symphony) -> None:
    data = os.urandom(10_000)
    cli.home.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [str(SYMPHONY), "artifacts", "put", "-"],
        check=False,
        input=data,
        capture_output=True,
        env=cli.env(),
        cwd=cli.home,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().strip() == _id(data)


def test_get_writes_the_stored_bytes_to_the_output_file(cli: Symphony, tmp_path: Path) -> None:
    data = os.urandom(300_000)
    artifact_id = _put(cli, tmp_path, data)
    out = tmp_path / "out.bin"
    document = cli.json("artifacts", "get", artifact_id, "-o", str(out))
    assert out.read_bytes() == data
    assert document == {"artifact_id": artifact_id, "size": len(data), "output": str(out)}


def test_get_output_file_gets_the_umask_mode(cli: Symphony, tmp_path: Path) -> None:
    artifact_id = _put(cli, tmp_path, b"x")
    out = tmp_path / "out.bin"
    result = cli.run("artifacts", "get", artifact_id, "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert out.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    old = os.umask(0o022)
    os.umask(old)
    return old


def test_get_writes_to_standard_output_without_o(cli: Symphony, tmp_path: Path) -> None:
    data = b"line one\nline two\n"
    artifact_id = _put(cli, tmp_path, data)
    assert cli.run("artifacts", "get", artifact_id).stdout == data.decode()


def test_show_reports_size_and_the_tags_given_to_put(cli: Symphony, tmp_path: Path) -> None:
    artifact_id = _put(cli, tmp_path, b"tagged", "--tag", "model", "--tag", "v1")
    document = cli.json("artifacts", "show", artifact_id)
    assert document["artifact_id"] == artifact_id
    assert document["size"] == len(b"tagged")
    assert document["metadata"]["tags"] == ["model", "v1"]


def test_a_malformed_id_is_a_usage_error_naming_the_expected_form(cli: Symphony) -> None:
    result = cli.run("artifacts", "get", "sha256:nothex")
    assert result.returncode == 2
    assert "expected 'sha256:' and 64 hex digits" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_id_exits_1_with_the_id_named(cli: Symphony) -> None:
    missing = _id(b"never stored")
    result = cli.run("artifacts", "show", missing)
    assert result.returncode == 1
    assert missing in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreadable_file_exits_2_and_stores_nothing(cli: Symphony, tmp_path: Path) -> None:
    result = cli.run("artifacts", "put", str(tmp_path / "absent.txt"))
    assert result.returncode == 2
    assert "Cannot read" in result.stderr and "absent.txt" in result.stderr
    assert not (cli.data_dir / "artifacts").exists() or not any((cli.data_dir / "artifacts").rglob("*.pack"))


def test_get_of_an_unknown_id_leaves_the_output_file_untouched(cli: Symphony, tmp_path: Path) -> None:
    out = tmp_path / "keep.txt"
    out.write_bytes(b"precious")
    result = cli.run("artifacts", "get", _id(b"never stored"), "-o", str(out))
    assert result.returncode == 1
    assert out.read_bytes() == b"precious"


def test_get_from_an_unreadable_pack_blames_the_store_not_the_output_file(cli: Symphony, tmp_path: Path) -> None:
    artifact_id = _put(cli, tmp_path, os.urandom(200_000))
    (pack,) = (cli.data_dir / "artifacts" / "packs").rglob("*.pack")
    pack.unlink()
    pack.mkdir()  # opening it for reading fails with an OSError (IsADirectoryError)
    out = tmp_path / "keep.bin"
    out.write_bytes(b"precious")
    result = cli.run("artifacts", "get", artifact_id, "-o", str(out))
    assert result.returncode == 1
    assert "Cannot read" in result.stderr and "Cannot write" not in result.stderr
    assert "Traceback" not in result.stderr
    assert out.read_bytes() == b"precious"


def test_put_of_a_directory_exits_2_naming_it(cli: Symphony, tmp_path: Path) -> None:
    result = cli.run("artifacts", "put", str(tmp_path))
    assert result.returncode == 2
    assert "Is a directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_chunked_object_round_trips_through_put_and_get(cli: Symphony, tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024)
    artifact_id = _put(cli, tmp_path, data)
    out = tmp_path / "out.bin"
    cli.json("artifacts", "get", artifact_id, "-o", str(out))
    assert artifact_id == _id(data)
    assert out.read_bytes() == data


_PEAK_RSS = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
"""


@pytest.mark.slow
def test_get_to_a_file_streams_a_large_artifact_in_bounded_memory(cli: Symphony, tmp_path: Path) -> None:
    size = 160 * 1024 * 1024
    source = tmp_path / "big.bin"
    with source.open("wb") as handle:
        for index in range(size // (1024 * 1024)):
            handle.write(hashlib.shake_256(index.to_bytes(8, "big")).digest(1024 * 1024))
    artifact_id = cli.json("artifacts", "put", str(source))["artifact_id"]
    out = tmp_path / "out.bin"

    def peak(*args: str) -> int:
        return int(cli.python(_PEAK_RSS, str(SYMPHONY), "artifacts", *args).stdout)

    grown = peak("get", artifact_id, "-o", str(out)) - peak("show", artifact_id)
    assert _id(out.read_bytes()) == artifact_id
    assert grown < 64 * 1024 * 1024, f"get -o of {size >> 20} MiB grew the peak memory by {grown >> 20} MiB"


def test_stats_shows_an_edited_version_stored_mostly_once(cli: Symphony, tmp_path: Path) -> None:
    first = os.urandom(1024 * 1024)
    second = first[:500_000] + b"an edit in the middle" + first[500_000:]
    _put(cli, tmp_path, first)
    _put(cli, tmp_path, second)
    stats = cli.json("artifacts", "stats")
    assert stats["objects"] == 2
    assert stats["logical_bytes"] == len(first) + len(second)
    assert stats["stored_bytes"] < len(first) * 1.2


def test_verify_of_a_sound_store_exits_0_with_no_problems(cli: Symphony, tmp_path: Path) -> None:
    _put(cli, tmp_path, os.urandom(200_000))
    assert cli.json("artifacts", "verify") == []


def test_verify_reports_a_flipped_byte_with_its_fix_and_exits_1(cli: Symphony, tmp_path: Path) -> None:
    _put(cli, tmp_path, os.urandom(200_000))
    (pack,) = (cli.data_dir / "artifacts" / "packs").rglob("*.pack")
    damaged = bytearray(pack.read_bytes())
    damaged[100] ^= 0xFF
    pack.write_bytes(bytes(damaged))
    problems = cli.json("artifacts", "verify", returncodes=(1,))
    assert problems, "the flipped byte went unreported"
    assert all(problem["fix"] for problem in problems)


def test_verify_repair_rebuilds_lost_chunk_rows_and_exits_0(cli: Symphony, tmp_path: Path) -> None:
    data = os.urandom(200_000)
    artifact_id = _put(cli, tmp_path, data)
    with contextlib.closing(sqlite3.connect(cli.data_dir / "artifacts" / "index.db")) as connection, connection:
        connection.execute("DELETE FROM chunks")
    assert [p["kind"] for p in cli.json("artifacts", "verify", returncodes=(1,))] == ["missing-chunk"]
    document = cli.json("artifacts", "verify", "--repair")
    assert document["problems"] == [] and document["repaired"]["chunks"] > 0
    out = tmp_path / "out.bin"
    cli.json("artifacts", "get", artifact_id, "-o", str(out))
    assert out.read_bytes() == data


def test_gc_dry_run_lists_an_unreferenced_artifact_and_keeps_it(cli: Symphony, tmp_path: Path) -> None:
    data = os.urandom(50_000)
    artifact_id = _put(cli, tmp_path, data)
    report = cli.json("--set", "components.artifacts.options.gc_grace=0", "artifacts", "gc", "--dry-run")
    assert report["dry_run"] is True
    assert report["objects"] == [artifact_id]
    out = tmp_path / "out.bin"
    cli.json("artifacts", "get", artifact_id, "-o", str(out))
    assert out.read_bytes() == data


def test_gc_removes_an_unreferenced_artifact_past_the_grace_period(cli: Symphony, tmp_path: Path) -> None:
    artifact_id = _put(cli, tmp_path, os.urandom(50_000))
    report = cli.json("--set", "components.artifacts.options.gc_grace=0", "artifacts", "gc")
    assert report["objects"] == [artifact_id]
    assert cli.run("artifacts", "show", artifact_id).returncode == 1


def test_gc_keeps_what_is_younger_than_the_grace_period(cli: Symphony, tmp_path: Path) -> None:
    _put(cli, tmp_path, os.urandom(50_000))
    assert cli.json("artifacts", "gc")["objects"] == []


def test_put_with_a_name_adds_a_version_per_new_content(cli: Symphony, tmp_path: Path) -> None:
    assert _put_json(cli, tmp_path, b"first", "--name", "model")["version"] == 1
    assert _put_json(cli, tmp_path, b"second", "--name", "model")["version"] == 2
    assert _put_json(cli, tmp_path, b"second", "--name", "model")["version"] == 2
    history = cli.json("artifacts", "history", "model")
    assert [(v["version"], v["artifact_id"]) for v in history] == [(1, _id(b"first")), (2, _id(b"second"))]


def test_get_resolves_a_name_to_its_latest_or_given_version(cli: Symphony, tmp_path: Path) -> None:
    _put(cli, tmp_path, b"first", "--name", "model")
    _put(cli, tmp_path, b"second", "--name", "model")
    assert cli.run("artifacts", "get", "model@1").stdout == "first"
    assert cli.run("artifacts", "get", "model").stdout == "second"
    assert cli.run("artifacts", "get", "model@latest").stdout == "second"


def test_show_names_the_versions_pointing_at_the_content(cli: Symphony, tmp_path: Path) -> None:
    artifact_id = _put(cli, tmp_path, b"weights", "--name", "model")
    assert cli.json("artifacts", "show", artifact_id)["names"] == ["model@1"]


def test_an_invalid_name_exits_2_before_anything_is_stored(cli: Symphony, tmp_path: Path) -> None:
    source = tmp_path / "a.txt"
    source.write_bytes(b"content")
    result = cli.run("artifacts", "put", str(source), "--name", "bad@name")
    assert result.returncode == 2
    assert "Invalid artifact name 'bad@name'" in result.stderr
    assert cli.json("artifacts", "stats")["objects"] == 0


def test_an_unknown_name_exits_1_saying_how_to_name_one(cli: Symphony) -> None:
    result = cli.run("artifacts", "get", "nosuch")
    assert result.returncode == 1
    assert "No artifact named 'nosuch'" in result.stderr
    assert "Traceback" not in result.stderr


def test_gc_keeps_a_named_artifact(cli: Symphony, tmp_path: Path) -> None:
    _put(cli, tmp_path, os.urandom(50_000), "--name", "kept")
    assert cli.json("--set", "components.artifacts.options.gc_grace=0", "artifacts", "gc")["objects"] == []


def test_lineage_of_a_stored_file_records_no_producer_or_user(cli: Symphony, tmp_path: Path) -> None:
    artifact_id = _put(cli, tmp_path, b"hand-made", "--name", "notes")
    assert cli.json("artifacts", "lineage", "notes") == {"artifact_id": artifact_id, "produced_by": [], "used_by": []}


def test_search_finds_text_and_a_vote_lifts_an_equally_relevant_hit(cli: Symphony, tmp_path: Path) -> None:
    _put(cli, tmp_path, b"the fox report alpha", "--name", "one")
    _put(cli, tmp_path, b"the fox report gamma", "--name", "two")
    before = [hit["artifact_id"] for hit in cli.json("artifacts", "search", "fox")]
    assert sorted(before) == sorted([_id(b"the fox report alpha"), _id(b"the fox report gamma")])
    cli.json("artifacts", "score", before[1], "+1")
    assert cli.json("artifacts", "search", "fox")[0]["artifact_id"] == before[1]


def test_search_filters_by_tag(cli: Symphony, tmp_path: Path) -> None:
    _put(cli, tmp_path, b"fox draft", "--tag", "draft")
    final = _put(cli, tmp_path, b"fox final", "--tag", "final")
    assert [hit["artifact_id"] for hit in cli.json("artifacts", "search", "fox", "--filter", "tag=final")] == [final]


def test_a_bad_filter_or_query_is_a_usage_error(cli: Symphony) -> None:
    assert cli.run("artifacts", "search", "fox", "--filter", "colour=red").returncode == 2
    result = cli.run("artifacts", "search", "fox AND (")
    assert result.returncode == 2
    assert "Cannot parse search query" in result.stderr


def test_score_of_an_unknown_artifact_records_nothing_and_exits_1(cli: Symphony) -> None:
    result = cli.run("artifacts", "score", _id(b"never stored"), "+1")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr


def test_reindex_rebuilds_the_search_index_from_the_store(cli: Symphony, tmp_path: Path) -> None:
    artifact_id = _put(cli, tmp_path, b"a searchable fox", "--name", "doc")
    cli.json("artifacts", "search", "fox")
    shutil.rmtree(cli.data_dir / "artifacts" / "search")
    assert cli.json("artifacts", "reindex") == {"indexed": 1}
    assert [hit["artifact_id"] for hit in cli.json("artifacts", "search", "fox")] == [artifact_id]


ENCRYPTED = ("--set", "components.artifacts.options.encryption=aes-256-gcm")
KEY_1 = base64.b64encode(bytes(range(32))).decode()
KEY_2 = base64.b64encode(bytes(range(1, 33))).decode()


def _get(cli: Symphony, artifact_id: str, out: Path, *settings: str, **env: str) -> subprocess.CompletedProcess[str]:
    return cli.run(*settings, "artifacts", "get", artifact_id, "-o", str(out), env=env)


def test_rekey_encrypts_a_plain_store_under_the_configured_key(cli: Symphony, tmp_path: Path) -> None:
    data = os.urandom(300_000)
    artifact_id = _put(cli, tmp_path, data)
    report = cli.json(*ENCRYPTED, "artifacts", "rekey", env={"SYMPHONY_ARTIFACTS_KEY": KEY_1})
    assert report["packs"] == 1
    out = tmp_path / "out.bin"
    assert _get(cli, artifact_id, out, *ENCRYPTED, SYMPHONY_ARTIFACTS_KEY=KEY_1).returncode == 0
    assert out.read_bytes() == data
    assert data[:4096] not in b"".join(p.read_bytes() for p in (cli.data_dir / "artifacts").rglob("*.pack"))


def test_rekey_rotates_to_a_new_key_given_the_old_one(cli: Symphony, tmp_path: Path) -> None:
    data = os.urandom(300_000)
    artifact_id = _put(cli, tmp_path, data)
    cli.json(*ENCRYPTED, "artifacts", "rekey", env={"SYMPHONY_ARTIFACTS_KEY": KEY_1})
    rotated = {"SYMPHONY_ARTIFACTS_KEY": KEY_2, "SYMPHONY_ARTIFACTS_OLD_KEY": KEY_1}
    cli.json(*ENCRYPTED, "artifacts", "rekey", env=rotated)
    out = tmp_path / "out.bin"
    assert _get(cli, artifact_id, out, *ENCRYPTED, SYMPHONY_ARTIFACTS_KEY=KEY_2).returncode == 0
    assert out.read_bytes() == data
    refused = _get(cli, artifact_id, tmp_path / "old.bin", *ENCRYPTED, SYMPHONY_ARTIFACTS_KEY=KEY_1)
    assert refused.returncode == 1
    assert "sealed with key id" in refused.stderr


def test_rekey_without_the_old_key_changes_nothing_and_says_what_to_give(cli: Symphony, tmp_path: Path) -> None:
    data = os.urandom(300_000)
    artifact_id = _put(cli, tmp_path, data)
    cli.json(*ENCRYPTED, "artifacts", "rekey", env={"SYMPHONY_ARTIFACTS_KEY": KEY_1})
    result = cli.run(*ENCRYPTED, "artifacts", "rekey", env={"SYMPHONY_ARTIFACTS_KEY": KEY_2})
    assert result.returncode == 1
    assert "the old key" in result.stderr and "Traceback" not in result.stderr
    out = tmp_path / "out.bin"
    assert _get(cli, artifact_id, out, *ENCRYPTED, SYMPHONY_ARTIFACTS_KEY=KEY_1).returncode == 0
    assert out.read_bytes() == data


def test_a_terminal_sees_a_progress_bar_and_a_pipe_does_not(cli: Symphony, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(4 * 1024 * 1024))
    piped = cli.run("artifacts", "put", str(source))
    assert piped.stderr == ""
    cli.home.mkdir(parents=True, exist_ok=True)
    leader, follower = pty.openpty()
    with subprocess.Popen(
        [str(SYMPHONY), "artifacts", "put", str(source)],
        stdout=subprocess.PIPE,
        stderr=follower,
        env={**cli.env(), "COLUMNS": "100"},
        cwd=cli.home,
    ) as process:
        os.close(follower)
        drawn = b""
        with contextlib.suppress(OSError):  # EIO once the command has exited and closed the terminal
            while chunk := os.read(leader, 4096):
                drawn += chunk
        assert process.wait() == 0
    os.close(leader)
    assert b"put" in drawn and b"MB" in drawn


def test_get_into_a_missing_directory_exits_2_naming_the_path(cli: Symphony, tmp_path: Path) -> None:
    artifact_id = _put(cli, tmp_path, b"content")
    out = tmp_path / "missing" / "out.bin"
    result = cli.run("artifacts", "get", artifact_id, "-o", str(out))
    assert result.returncode == 2
    assert "Cannot write" in result.stderr and str(out) in result.stderr
    assert not out.parent.exists()
