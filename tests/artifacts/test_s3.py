"""The S3 backend against a real S3-compatible server (moto in server mode, a subprocess on loopback)."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from symphony.builtin_plugins.pit.artifacts import ArtifactCorruptError
from symphony.builtin_plugins.pit.artifacts.options import StoreOptions
from symphony.builtin_plugins.pit.artifacts.packs import read_header
from symphony.builtin_plugins.pit.artifacts.s3 import S3Backend
from symphony.builtin_plugins.pit.artifacts.store import ArtifactStore
from symphony.hookspecs import ConfigurationError, NetworkError, NotFoundError, ValidationError

if TYPE_CHECKING:
    from tests.conftest import Symphony


@dataclass(frozen=True)
class Server:
    endpoint: str

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            region_name="us-east-1",
        )


def _start_server(env: dict[str, str]) -> Iterator[Server]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **env},
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=5).close()
            break
        except (urllib.error.URLError, OSError):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"moto server did not start on {endpoint}")
            time.sleep(0.1)
    try:
        yield Server(endpoint)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    yield from _start_server({})


@pytest.fixture(scope="module")
def strict_server() -> Iterator[Server]:
    """A server that checks credentials (moto's IAM auth from the first request on)."""
    yield from _start_server({"INITIAL_NO_AUTH_ACTION_COUNT": "0"})


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_REGION", "us-east-1")


@pytest.fixture
def bucket(server: Server) -> str:
    name = f"artifacts-{uuid.uuid4().hex[:12]}"
    server.client().create_bucket(Bucket=name)
    return name


@pytest.fixture
def backend(server: Server, bucket: str, tmp_path: Path) -> S3Backend:
    return S3Backend(bucket, prefix="store", endpoint_url=server.endpoint, index=tmp_path / "artifacts")


def test_a_written_object_reads_back_whole(backend: S3Backend) -> None:
    backend.write("packs/ab/one.pack", [b"hello ", b"world"])
    assert backend.read("packs/ab/one.pack") == b"hello world"


def test_a_ranged_read_returns_only_the_range(backend: S3Backend) -> None:
    backend.write("packs/ab/one.pack", [b"0123456789"])
    assert backend.read("packs/ab/one.pack", offset=3, length=4) == b"3456"
    assert backend.read("packs/ab/one.pack", offset=7) == b"789"


def test_a_read_past_the_end_is_empty_as_a_file_read_is(backend: S3Backend) -> None:
    backend.write("k", [b"0123"])
    assert backend.read("k", offset=4) == b""
    assert backend.read("k", offset=2, length=0) == b""


def test_an_empty_object_is_stored(backend: S3Backend) -> None:
    backend.write("empty", [])
    assert backend.exists("empty")
    assert backend.read("empty") == b""


def test_objects_live_under_the_prefix_in_the_bucket(server: Server, bucket: str, backend: S3Backend) -> None:
    backend.write("packs/ab/one.pack", [b"x"])
    listed = server.client().list_objects_v2(Bucket=bucket)
    assert sorted(item["Key"] for item in listed["Contents"]) == ["store/owner", "store/packs/ab/one.pack"]


@pytest.mark.slow
def test_a_large_object_goes_as_a_multipart_upload_and_reads_back(
    server: Server, bucket: str, backend: S3Backend
) -> None:
    parts = [bytes([i]) * (3 * 1024 * 1024) for i in range(7)]  # 21 MiB in pieces smaller than a part
    backend.write("packs/cd/big.pack", parts)
    assert backend.read("packs/cd/big.pack") == b"".join(parts)
    head = server.client().head_object(Bucket=bucket, Key="store/packs/cd/big.pack")
    assert head["ETag"].strip('"').endswith("-3")  # three parts of 8 MiB at most


def test_a_write_whose_source_fails_leaves_nothing_visible(server: Server, bucket: str, backend: S3Backend) -> None:
    def source() -> Iterator[bytes]:
        yield b"x" * (9 * 1024 * 1024)  # past one part: the upload has begun
        raise OSError("the writer's disk failed")

    with pytest.raises(OSError, match="disk failed"):
        backend.write("packs/ef/partial.pack", source())
    assert not backend.exists("packs/ef/partial.pack")
    uploads = server.client().list_multipart_uploads(Bucket=bucket)
    assert not uploads.get("Uploads")


def test_keys_lists_what_is_under_a_prefix(backend: S3Backend) -> None:
    for key in ("packs/ab/1.pack", "packs/cd/2.pack", "other/3"):
        backend.write(key, [b"x"])
    assert sorted(backend.keys("packs")) == ["packs/ab/1.pack", "packs/cd/2.pack"]
    assert sorted(backend.keys("")) == ["other/3", "owner", "packs/ab/1.pack", "packs/cd/2.pack"]


def test_a_deleted_object_is_gone_and_deleting_it_again_is_fine(backend: S3Backend) -> None:
    backend.write("k", [b"x"])
    backend.delete("k")
    backend.delete("k")
    assert not backend.exists("k")


def test_reading_a_missing_object_is_not_found(backend: S3Backend) -> None:
    with pytest.raises(NotFoundError, match=r"No packs/zz/none\.pack in the artifact store at s3://"):
        backend.read("packs/zz/none.pack")


@pytest.mark.parametrize("key", ["", "a//b", "../escape", "a/./b"])
def test_a_malformed_key_is_refused(backend: S3Backend, key: str) -> None:
    with pytest.raises(ValidationError, match="Invalid artifact store key"):
        backend.write(key, [b"x"])


def test_a_missing_bucket_is_a_clear_configuration_error_at_open(server: Server, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"bucket 'no-such-bucket' does not exist.*create it"):
        S3Backend("no-such-bucket", endpoint_url=server.endpoint, index=tmp_path)


def test_refused_credentials_are_a_clear_configuration_error_at_open(strict_server: Server, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"refused the artifact store's credentials.*AWS_ACCESS_KEY_ID"):
        S3Backend("any-bucket", endpoint_url=strict_server.endpoint, index=tmp_path)


def test_an_unreachable_server_is_a_network_error_naming_the_store(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{probe.getsockname()[1]}"  # nothing listens once it is closed
    with pytest.raises(NetworkError, match=rf"artifact store at s3://any-bucket at {endpoint} failed.*reachable"):
        S3Backend("any-bucket", endpoint_url=endpoint, index=tmp_path)


def test_a_server_failure_without_a_message_is_still_told_as_a_network_error(backend: S3Backend) -> None:
    error = backend._error(ConnectionResetError(), "packs/ab/one.pack")
    assert isinstance(error, NetworkError)
    assert "failed on packs/ab/one.pack: ConnectionResetError." in str(error)


def test_no_bucket_setting_is_a_clear_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="s3_bucket"):
        S3Backend("", index=tmp_path)


def test_the_index_that_claimed_a_prefix_opens_it_again(server: Server, bucket: str, tmp_path: Path) -> None:
    S3Backend(bucket, prefix="p", endpoint_url=server.endpoint, index=tmp_path / "host-a").write("k", [b"x"])
    assert S3Backend(bucket, prefix="p", endpoint_url=server.endpoint, index=tmp_path / "host-a").read("k") == b"x"


def test_a_second_index_is_refused_a_prefix_another_index_owns(server: Server, bucket: str, tmp_path: Path) -> None:
    """Its gc would take the first index's packs, which it does not know, for orphans and delete them."""
    S3Backend(bucket, prefix="p", endpoint_url=server.endpoint, index=tmp_path / "host-a")
    with pytest.raises(ConfigurationError, match=r"is the artifact store of another index.*own.*s3_prefix"):
        S3Backend(bucket, prefix="p", endpoint_url=server.endpoint, index=tmp_path / "host-b")


def test_two_indexes_share_a_bucket_under_their_own_prefixes(server: Server, bucket: str, tmp_path: Path) -> None:
    S3Backend(bucket, prefix="host-a", endpoint_url=server.endpoint, index=tmp_path / "host-a").write("k", [b"a"])
    S3Backend(bucket, prefix="host-b", endpoint_url=server.endpoint, index=tmp_path / "host-b").write("k", [b"b"])
    assert S3Backend(bucket, prefix="host-a", endpoint_url=server.endpoint, index=tmp_path / "host-a").read("k") == b"a"


@pytest.fixture
def s3_store(server: Server, bucket: str, tmp_path: Path) -> Iterator[ArtifactStore]:
    root = tmp_path / "artifacts"
    backend = S3Backend(bucket, prefix="store", endpoint_url=server.endpoint, index=root)
    store = ArtifactStore(root, StoreOptions(gc_grace=0), backend=backend)
    yield store
    store.close()


def _pack_keys(server: Server, bucket: str) -> list[str]:
    listed = server.client().list_objects_v2(Bucket=bucket, Prefix="store/packs/")
    return [item["Key"] for item in listed.get("Contents", [])]


def test_the_store_keeps_its_packs_in_the_bucket_and_reads_them_back(
    server: Server, bucket: str, s3_store: ArtifactStore
) -> None:
    content = random.Random(7).randbytes(300_000)
    artifact_id = s3_store.put_sync(content)
    assert s3_store.get_sync(artifact_id) == content
    assert _pack_keys(server, bucket)
    assert not (s3_store.root / "packs").exists()


def test_a_flipped_byte_in_the_bucket_is_reported_as_corruption(
    server: Server, bucket: str, s3_store: ArtifactStore
) -> None:
    artifact_id = s3_store.put_sync(random.Random(8).randbytes(100_000))
    [key] = _pack_keys(server, bucket)
    client = server.client()
    damaged = bytearray(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    damaged[-10] ^= 0xFF
    client.put_object(Bucket=bucket, Key=key, Body=bytes(damaged))
    with pytest.raises(ArtifactCorruptError):
        s3_store.get_sync(artifact_id)
    assert [problem.kind for problem in s3_store.verify()] == ["corrupt-chunk"]


def test_verify_finds_nothing_wrong_in_a_healthy_bucket_store(s3_store: ArtifactStore) -> None:
    s3_store.put_sync(random.Random(9).randbytes(200_000))
    assert s3_store.verify() == []


def test_gc_deletes_the_packs_of_unreachable_artifacts_from_the_bucket(
    server: Server, bucket: str, s3_store: ArtifactStore
) -> None:
    s3_store.put_sync(random.Random(10).randbytes(100_000))
    assert s3_store.gc(dry_run=True).packs and _pack_keys(server, bucket)
    report = s3_store.gc()
    assert report.packs and _pack_keys(server, bucket) == []


def test_gc_keeps_the_packs_of_artifacts_a_root_reaches(server: Server, bucket: str, s3_store: ArtifactStore) -> None:
    content = random.Random(11).randbytes(100_000)
    artifact_id = s3_store.put_sync(content)
    s3_store.add_root_provider(lambda: [artifact_id])
    assert s3_store.gc().packs == []
    assert s3_store.get_sync(artifact_id) == content


# -- selected by [components.artifacts.options], through the real command ----------------------------------------


def s3_cli(symphony: Callable[..., Symphony], server: Server, bucket: str) -> Symphony:
    cli: Symphony = symphony()
    cli.home.mkdir(parents=True)
    (cli.home / "symphony.toml").write_text(
        "[components.artifacts.options]\n"
        f'backend = "s3"\ns3_bucket = "{bucket}"\ns3_prefix = "cli"\ns3_endpoint_url = "{server.endpoint}"\n'
    )
    return cli


def test_the_command_stores_in_the_bucket_the_settings_name(
    symphony: Callable[..., Symphony], server: Server, bucket: str, tmp_path: Path
) -> None:
    cli, source, content = (
        s3_cli(symphony, server, bucket),
        tmp_path / "report.bin",
        random.Random(12).randbytes(50_000),
    )
    source.write_bytes(content)
    artifact_id = cli.json("artifacts", "put", str(source))["artifact_id"]
    listed = server.client().list_objects_v2(Bucket=bucket, Prefix="cli/packs/")
    assert listed.get("Contents")
    got = cli.run("artifacts", "get", artifact_id, "-o", str(tmp_path / "out"))
    assert got.returncode == 0, got.stderr
    assert (tmp_path / "out").read_bytes() == content


def test_the_command_with_a_missing_bucket_says_so_without_a_traceback(
    symphony: Callable[..., Symphony], server: Server, tmp_path: Path
) -> None:
    cli, source = s3_cli(symphony, server, "no-such-bucket"), tmp_path / "report.bin"
    source.write_bytes(b"x" * 10_000)
    got = cli.run("artifacts", "put", str(source))
    assert got.returncode != 0 and "Traceback" not in got.stderr
    assert "bucket 'no-such-bucket' does not exist" in got.stderr


def test_credentials_in_the_settings_file_are_refused_naming_the_option() -> None:
    with pytest.raises(ConfigurationError, match=r"components\.artifacts\.options"):
        StoreOptions.from_options({"backend": "s3", "s3_bucket": "b", "aws_secret_access_key": "secret"})


_WRITER = """
import random, sys
from pathlib import Path
from symphony.builtin_plugins.pit.artifacts.options import StoreOptions
from symphony.builtin_plugins.pit.artifacts.packs import read_header
from symphony.builtin_plugins.pit.artifacts.s3 import S3Backend
from symphony.builtin_plugins.pit.artifacts.store import ArtifactStore

root, bucket, endpoint, seed = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
backend = S3Backend(bucket, "shared", endpoint, index=root)  # both claim the prefix for one index at once
store = ArtifactStore(root, StoreOptions(pack_size=64 * 1024), backend=backend)
shared = random.Random(0).randbytes(150_000)
for i in range(12):
    print(store.put_sync(shared + random.Random(seed * 100 + i).randbytes(30_000)), flush=True)
"""


@pytest.mark.slow
def test_two_processes_writing_into_one_bucket_store_at_once_lose_nothing(
    server: Server, bucket: str, tmp_path: Path
) -> None:
    root = tmp_path / "artifacts"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(root), bucket, server.endpoint, str(seed)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)
    ]
    outputs = [writer.communicate(timeout=300) for writer in writers]
    assert [writer.returncode for writer in writers] == [0, 0], [err for _, err in outputs]
    store = ArtifactStore(root, backend=S3Backend(bucket, "shared", server.endpoint, index=root))
    shared = random.Random(0).randbytes(150_000)
    expected = {
        artifact_id: shared + random.Random(seed * 100 + i).randbytes(30_000)
        for seed, (out, _) in zip((1, 2), outputs, strict=True)
        for i, artifact_id in enumerate(out.split())
    }
    assert len(expected) == 24
    assert all(store.get_sync(artifact_id) == content for artifact_id, content in expected.items())
    assert store.verify() == []
    store.close()


_BIG_WRITER = """
import random, sys
from pathlib import Path
from symphony.builtin_plugins.pit.artifacts.options import StoreOptions
from symphony.builtin_plugins.pit.artifacts.packs import read_header
from symphony.builtin_plugins.pit.artifacts.s3 import S3Backend
from symphony.builtin_plugins.pit.artifacts.store import ArtifactStore

root, bucket, endpoint = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
backend = S3Backend(bucket, "store", endpoint, index=root)
store = ArtifactStore(root, StoreOptions(pack_size=40 * 1024 * 1024), backend=backend)
rng = random.Random(13)
store.put_sync(rng.randbytes(1024 * 1024) for _ in range(200))
"""


@pytest.mark.slow
def test_a_writer_killed_mid_upload_leaves_no_partial_pack_and_a_usable_store(
    server: Server, bucket: str, tmp_path: Path
) -> None:
    root, client = tmp_path / "artifacts", server.client()
    writer = subprocess.Popen([sys.executable, "-c", _BIG_WRITER, str(root), bucket, server.endpoint])
    deadline = time.monotonic() + 240
    while not client.list_multipart_uploads(Bucket=bucket).get("Uploads"):  # a pack is being uploaded
        assert writer.poll() is None and time.monotonic() < deadline, "the writer never began a multipart upload"
        time.sleep(0.02)
    writer.kill()
    writer.wait(timeout=30)
    store = ArtifactStore(root, backend=S3Backend(bucket, "store", server.endpoint, index=root))
    for key in store.backend.keys("packs"):  # every visible pack is whole: as long as its header says
        header, body = read_header(store.backend, key.rsplit("/", 1)[-1].removesuffix(".pack"))
        assert len(store.backend.read(key)) == body + sum(entry.sealed_length for entry in header.chunks)
    assert store.verify() == []
    artifact_id = store.put_sync(b"after the crash" * 1000)
    assert store.get_sync(artifact_id) == b"after the crash" * 1000
    store.close()
