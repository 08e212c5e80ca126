"""The registry's TUF repository: what the index holds, signed so a client can trust it (PEP 458).

Roles: root, targets, snapshot, timestamp, and 64 succinct hash bins
(``bins-00``..``bins-3f``) delegated from targets, each wheel a target
``packages/<filename>`` in the bin its path hashes to.  All keys are Ed25519
files under ``keys/`` named ``<role>-<keyid>.pem``, so a rotation writes the
new key beside the old one and the metadata always names a key that exists.

Every change is one transaction under a directory lock (the server and the
CLI share it): the touched bins are signed once each, then targets when it
changed, then snapshot, then timestamp last, each file written atomically, so
a client that reads ``timestamp.json`` finds every file it points to.
Metadata files are consistent snapshots (``N.<role>.json``); the version
before the previous one of a role is deleted when a new one is written.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import msgspec
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    SuccinctRoles,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization import DeserializationError
from tuf.api.serialization.json import JSONSerializer

from symphony.hookspecs import (
    PublisherSignature,
    RegistryError,
    VerificationError,
    atomic_write,
    key_id,
    parse_public_key,
    verify_signature,
)

from .. import signing
from .._locking import DirectoryLock
from ..records import (
    PACKAGES_PREFIX,
    PUBLISHERS_TARGET,
    PublisherDirectory,
    PublisherRecord,
    ReleaseMetadata,
    decode_release,
    encode_release,
)
from ..wheels import publisher_of, read_wheel

__all__ = ["BINS", "EXPIRY", "ROLES", "Repository", "check_publisher_key"]

#: Roles with a key of their own; every bin is signed with the one ``bins`` key.
ROLES: Final = ("root", "targets", "snapshot", "timestamp", "bins")
EXPIRY: Final = {
    "root": timedelta(days=365),
    "targets": timedelta(days=90),
    "bins": timedelta(days=90),
    "snapshot": timedelta(days=7),
    "timestamp": timedelta(days=1),
}
#: 64 hash bins (PEP 458): a release touches one ~1/64 of the catalogue, and a client refreshes only changed bins.
BINS: Final = SuccinctRoles(keyids=[], threshold=1, bit_length=6, name_prefix="bins")
_SERIALIZER: Final = JSONSerializer(compact=True)
_PUBLISHERS_DECODER: Final = msgspec.json.Decoder(PublisherDirectory)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _target(path: str, metadata: ReleaseMetadata, sha256: str, length: int) -> TargetFile:
    return TargetFile(length, {"sha256": sha256}, path, {"custom": {"symphony": encode_release(metadata)}})


def _check_matches(signature: PublisherSignature, metadata: ReleaseMetadata, sha256: str) -> None:
    """That ``signature`` vouches for this very file and its manifest, by the manifest's publisher."""
    statement = signature.statement
    name = metadata.filename
    if metadata.manifest is None:
        raise VerificationError(f"{name} carries no extension manifest; only an extension's release is signed")
    if statement.sha256 != sha256:
        raise VerificationError(
            f"the signature is for a file with SHA-256 {statement.sha256[:16]}…, but {name} on the index has "
            f"{sha256[:16]}…: sign the file you uploaded"
        )
    if (statement.distribution, statement.version) != (metadata.distribution, metadata.version):
        raise VerificationError(
            f"the signature names {statement.distribution} {statement.version}; {name} is "
            f"{metadata.distribution} {metadata.version}"
        )
    if statement.manifest_sha256 != metadata.manifest_sha256:
        raise VerificationError(f"the signature covers another manifest than the one inside {name}")
    named = publisher_of(metadata.manifest)
    if named != statement.publisher:
        raise VerificationError(
            f"the manifest of {name} names publisher {named!r}, but the signature is by {statement.publisher!r}: "
            "a publisher signs only their own extensions"
        )


def check_publisher_key(directory: PublisherDirectory, signature: PublisherSignature) -> None:
    """That the key is a current key of the statement's publisher and the signature verifies."""
    publisher = signature.statement.publisher
    record = directory.publishers.get(publisher)
    if record is None:
        raise VerificationError(
            f"publisher {publisher!r} is not registered on this index; its operator adds them with "
            f"`symphony registry publisher add DIR {publisher!r} KEY`"
        )
    parse_public_key(signature.key)
    if signature.key in record.revoked:
        raise VerificationError(
            f"key {key_id(signature.key)} of publisher {publisher!r} was revoked; sign with a current key"
        )
    verify_signature(signature, record.keys)


@dataclass
class _Transaction:
    """The metadata as one writer sees it, and which roles it changed."""

    root: Metadata[Root]
    targets: Metadata[Targets]
    snapshot: Metadata[Snapshot]
    timestamp: Metadata[Timestamp]
    bins: dict[str, Metadata[Targets]]
    changed: set[str]
    root_changed: bool = False


class Repository:
    """A registry directory: ``packages/``, ``tuf/``, ``keys/``, ``signatures/`` (pending) and ``publishers.json``."""

    def __init__(self, directory: Path, *, timestamp_expiry: timedelta = EXPIRY["timestamp"]) -> None:
        self.directory = directory
        self.packages = directory / "packages"
        self.metadata = directory / "tuf"
        self.keys = directory / "keys"
        self.pending = directory / "signatures"
        self.publishers_file = directory / PUBLISHERS_TARGET
        self.expiry = {**EXPIRY, "timestamp": timestamp_expiry}
        self._lock = DirectoryLock(directory)
        self._root_version = 1
        #: A lower bound of every bin's expiry (writes only move expiries later), so renew() reads bins rarely.
        self._bins_expire_at: datetime | None = None

    # ---------------------------------------------------------------- opening

    @classmethod
    def create(cls, directory: Path, *, timestamp_expiry: timedelta = EXPIRY["timestamp"]) -> Repository:
        """A new registry in ``directory`` (absent or empty): keys, empty bins, and ``root.json`` to hand to users."""
        if directory.exists() and any(directory.iterdir()):
            raise RegistryError(f"{directory} is not empty; a registry is created in a new or empty directory")
        repository = cls(directory, timestamp_expiry=timestamp_expiry)
        for sub in (repository.packages, repository.metadata, repository.pending):
            sub.mkdir(parents=True, exist_ok=True)
        repository.keys.mkdir(mode=0o700)
        signers = {role: repository._new_key(role) for role in ROLES}
        root = Root(expires=_now() + repository.expiry["root"], consistent_snapshot=True)
        for role in ("root", "targets", "snapshot", "timestamp"):
            root.add_key(signers[role].public_key, role)
        targets = Targets(expires=_now() + repository.expiry["targets"])
        bins = SuccinctRoles([signers["bins"].public_key.keyid], 1, BINS.bit_length, BINS.name_prefix)
        targets.delegations = Delegations(
            keys={signers["bins"].public_key.keyid: signers["bins"].public_key}, roles=None, succinct_roles=bins
        )
        publishers = msgspec.json.encode(PublisherDirectory())
        atomic_write(repository.publishers_file, publishers)
        targets.targets[PUBLISHERS_TARGET] = TargetFile.from_data(PUBLISHERS_TARGET, publishers, ["sha256"])
        with repository._lock.hold():
            transaction = _Transaction(
                root=Metadata(root),
                targets=Metadata(targets),
                snapshot=Metadata(Snapshot(expires=_now())),
                timestamp=Metadata(Timestamp(expires=_now())),
                bins={name: Metadata(Targets(expires=_now())) for name in bins.get_roles()},
                changed={"targets", *bins.get_roles()},
                root_changed=True,
            )
            repository._commit(transaction, signers=signers, first=True)
        shutil.copyfile(repository.metadata / "1.root.json", directory / "root.json")
        return repository

    @classmethod
    def open(cls, directory: Path, *, timestamp_expiry: timedelta = EXPIRY["timestamp"]) -> Repository:
        """The registry in ``directory``; RegistryError saying how to make one when there is none."""
        if not (directory / "tuf" / "timestamp.json").is_file():
            raise RegistryError(
                f"{directory} is not a registry directory (no tuf/timestamp.json); "
                f"create one with `symphony registry init {directory}`"
            )
        return cls(directory, timestamp_expiry=timestamp_expiry)

    # ---------------------------------------------------------------- reading

    def _load(self, name: str) -> Metadata[Any]:
        try:
            data = (self.metadata / name).read_bytes()
        except FileNotFoundError:
            raise RegistryError(f"the registry's metadata is incomplete: {self.metadata / name} is missing") from None
        try:
            return Metadata.from_bytes(data)
        except DeserializationError as error:
            raise RegistryError(
                f"{self.metadata / name} is not valid TUF metadata ({error}); it was changed outside symphony."
                " Restore the registry directory from a backup."
            ) from None

    def _current_root(self) -> Metadata[Root]:
        while (self.metadata / f"{self._root_version + 1}.root.json").is_file():
            self._root_version += 1
        return self._load(f"{self._root_version}.root.json")

    def _begin(self) -> _Transaction:
        timestamp = self._load("timestamp.json")
        snapshot = self._load(f"{timestamp.signed.snapshot_meta.version}.snapshot.json")
        targets = self._load(f"{snapshot.signed.meta['targets.json'].version}.targets.json")
        return _Transaction(self._current_root(), targets, snapshot, timestamp, {}, set())

    def _bin(self, transaction: _Transaction, name: str) -> Metadata[Targets]:
        if name not in transaction.bins:
            version = transaction.snapshot.signed.meta[f"{name}.json"].version
            transaction.bins[name] = self._load(f"{version}.{name}.json")
        return transaction.bins[name]

    def _succinct(self, transaction: _Transaction) -> SuccinctRoles:
        delegations = transaction.targets.signed.delegations
        assert delegations is not None and delegations.succinct_roles is not None  # created so, never removed
        return delegations.succinct_roles

    def bin_for(self, target_path: str) -> str:
        """The hash bin holding ``target_path``."""
        return BINS.get_role_for_target(target_path)

    def publishers(self) -> PublisherDirectory:
        """The publisher directory as last signed."""
        try:
            return _PUBLISHERS_DECODER.decode(self.publishers_file.read_bytes())
        except (OSError, msgspec.DecodeError, msgspec.ValidationError) as error:
            raise RegistryError(f"cannot read {self.publishers_file}: {error}") from None

    def releases(self) -> Iterator[tuple[str, ReleaseMetadata]]:
        """Every release target, as ``(target path, metadata)`` (reads all 64 bins: for commands and tests)."""
        transaction = self._begin()
        for name in BINS.get_roles():
            for path, target in self._bin(transaction, name).signed.targets.items():
                yield path, decode_release(target.custom["symphony"])

    # ---------------------------------------------------------------- keys

    def _key_path(self, role: str, keyid: str) -> Path:
        return self.keys / f"{role}-{keyid[:16]}.pem"

    def _new_key(self, role: str) -> CryptoSigner:
        key = signing.generate_key()
        signer = CryptoSigner(key)
        signing.save_private_key(key, self._key_path(role, signer.public_key.keyid))
        return signer

    def _role_keyids(self, transaction: _Transaction, role: str) -> list[str]:
        if role == "bins":
            return list(self._succinct(transaction).keyids)
        return list(transaction.root.signed.roles[role].keyids)

    def _signer(self, transaction: _Transaction, role: str) -> CryptoSigner:
        keyid = self._role_keyids(transaction, role)[0]
        return CryptoSigner(signing.load_private_key(self._key_path(role, keyid)))

    # ---------------------------------------------------------------- writing

    @contextmanager
    def _transaction(self) -> Iterator[_Transaction]:
        """Hold the lock, read the current metadata, let the caller change it, then sign and write what changed."""
        with self._lock.hold():
            transaction = self._begin()
            yield transaction
            if transaction.changed or transaction.root_changed:
                self._commit(transaction)

    def _write(self, name: str, metadata: Metadata[Any]) -> None:
        atomic_write(self.metadata / name, metadata.to_bytes(_SERIALIZER))

    def _prune(self, role: str, version: int) -> None:
        """Delete the version before the previous one: the previous stays for a client mid-update."""
        with contextlib.suppress(FileNotFoundError):
            (self.metadata / f"{version - 2}.{role}.json").unlink()

    def _commit(
        self, transaction: _Transaction, *, signers: dict[str, CryptoSigner] | None = None, first: bool = False
    ) -> None:
        keys = signers or {}

        def signer(role: str) -> CryptoSigner:
            if role not in keys:
                keys[role] = self._signer(transaction, role)
            return keys[role]

        now = _now()
        bump = 0 if first else 1
        if transaction.root_changed and first:
            transaction.root.sign(signer("root"))
            self._write("1.root.json", transaction.root)
        snapshot = transaction.snapshot.signed
        for name in sorted(transaction.changed - {"targets"}):
            document = transaction.bins[name]
            document.signed.version += bump
            document.signed.expires = now + self.expiry["bins"]
            document.sign(signer("bins"))
            self._write(f"{document.signed.version}.{name}.json", document)
            snapshot.meta[f"{name}.json"] = MetaFile(document.signed.version)
            self._prune(name, document.signed.version)
        if "targets" in transaction.changed:
            document_t = transaction.targets
            document_t.signed.version += bump
            document_t.signed.expires = now + self.expiry["targets"]
            document_t.sign(signer("targets"))
            self._write(f"{document_t.signed.version}.targets.json", document_t)
            snapshot.meta["targets.json"] = MetaFile(document_t.signed.version)
            self._prune("targets", document_t.signed.version)
        snapshot.version += bump
        snapshot.expires = now + self.expiry["snapshot"]
        transaction.snapshot.sign(signer("snapshot"))
        self._write(f"{snapshot.version}.snapshot.json", transaction.snapshot)
        self._prune("snapshot", snapshot.version)
        timestamp = transaction.timestamp.signed
        timestamp.snapshot_meta = MetaFile(snapshot.version)
        timestamp.version += bump
        timestamp.expires = now + self.expiry["timestamp"]
        transaction.timestamp.sign(signer("timestamp"))
        self._write("timestamp.json", transaction.timestamp)

    # ---------------------------------------------------------------- releases

    def add_releases(self, releases: Iterable[tuple[Path | None, ReleaseMetadata, str, int]]) -> int:
        """Add many releases in one transaction, signing each touched bin once; how many were added.

        Each item is ``(file or None, metadata, sha256, length)``: a file is
        copied into ``packages/`` (skipped when already there); None adds the
        target only (a generated catalogue for benchmarks).
        """
        count = 0
        with self._transaction() as transaction:
            for source, metadata, sha256, length in releases:
                if source is not None:
                    destination = self.packages / metadata.filename
                    if source.resolve() != destination.resolve():
                        shutil.copyfile(source, destination)
                path = PACKAGES_PREFIX + metadata.filename
                name = self.bin_for(path)
                self._bin(transaction, name).signed.targets[path] = _target(path, metadata, sha256, length)
                transaction.changed.add(name)
                count += 1
        return count

    def store_wheel(self, temporary: Path, filename: str) -> ReleaseMetadata:
        """Check the uploaded ``temporary`` file, move it to ``packages/<filename>`` and sign it as a target.

        A wheel that cannot be read, or whose pending signature does not match
        it, is refused (RegistryError) and nothing is left behind: the file is
        moved into place only inside the transaction, and removed again if
        signing fails.
        """
        info = read_wheel(temporary, filename=filename)
        metadata = info.release_metadata(time.time())
        pending = self.pending / f"{filename}.json"
        destination = self.packages / filename
        with self._transaction() as transaction:
            signature = self._pending_signature(pending)
            if signature is not None:
                _check_matches(signature, metadata, info.sha256)
                check_publisher_key(self.publishers(), signature)
                metadata = msgspec.structs.replace(metadata, signature=signature)
            try:
                os.link(temporary, destination)
            except FileExistsError:
                raise RegistryError(f"{filename} is already on the index; a release file is never replaced") from None
            try:
                path = PACKAGES_PREFIX + filename
                name = self.bin_for(path)
                self._bin(transaction, name).signed.targets[path] = _target(path, metadata, info.sha256, info.length)
                transaction.changed.add(name)
                self._commit(transaction)
                transaction.changed.clear()
            except BaseException:
                destination.unlink()
                raise
        with contextlib.suppress(FileNotFoundError):
            pending.unlink()
        return metadata

    def _pending_signature(self, path: Path) -> PublisherSignature | None:
        try:
            return msgspec.json.decode(path.read_bytes(), type=PublisherSignature)
        except FileNotFoundError:
            return None
        except (msgspec.DecodeError, msgspec.ValidationError):
            path.unlink()
            return None

    def attach_signature(self, signature: PublisherSignature) -> bool:
        """Attach a publisher's signature to its wheel's target; False when the wheel is not uploaded yet.

        The key and the signature are checked either way (VerificationError
        saying why not); a signature that arrives first is kept in
        ``signatures/`` and checked against the wheel when it arrives.
        """
        filename = signature.statement.filename
        try:
            parse_wheel_filename(filename)
        except InvalidWheelFilename:
            raise RegistryError(f"the signed statement names {filename!r}, which is not a wheel file name") from None
        if "/" in filename or canonicalize_name(signature.statement.distribution) != signature.statement.distribution:
            raise RegistryError(f"the signed statement's file {filename!r} or distribution is not in normal form")
        check_publisher_key(self.publishers(), signature)
        path = PACKAGES_PREFIX + filename
        with self._transaction() as transaction:
            document = self._bin(transaction, self.bin_for(path))
            target = document.signed.targets.get(path)
            if target is None:
                atomic_write(self.pending / f"{filename}.json", msgspec.json.encode(signature))
                return False
            metadata = decode_release(target.custom["symphony"])
            _check_matches(signature, metadata, target.hashes["sha256"])
            document.signed.targets[path] = _target(
                path, msgspec.structs.replace(metadata, signature=signature), target.hashes["sha256"], target.length
            )
            transaction.changed.add(self.bin_for(path))
        return True

    def yank(self, distribution: str, version: str, reason: str | None) -> list[str]:
        """Mark every file of ``distribution`` ``version`` yanked (with ``reason``); the file names."""
        wanted = canonicalize_name(distribution)
        yanked: list[str] = []
        with self._transaction() as transaction:
            for name in BINS.get_roles():
                document = self._bin(transaction, name)
                for path, target in document.signed.targets.items():
                    metadata = decode_release(target.custom["symphony"])
                    if metadata.distribution != wanted or metadata.version != version:
                        continue
                    changed = msgspec.structs.replace(metadata, yanked=True, yanked_reason=reason)
                    document.signed.targets[path] = _target(path, changed, target.hashes["sha256"], target.length)
                    transaction.changed.add(name)
                    yanked.append(metadata.filename)
        if not yanked:
            raise RegistryError(f"no release {wanted} {version} on this index (nothing was yanked)")
        return sorted(yanked)

    # ---------------------------------------------------------------- publishers

    def _set_publishers(self, transaction: _Transaction, directory: PublisherDirectory) -> None:
        data = msgspec.json.encode(directory)
        atomic_write(self.publishers_file, data)
        transaction.targets.signed.targets[PUBLISHERS_TARGET] = TargetFile.from_data(
            PUBLISHERS_TARGET, data, ["sha256"]
        )
        transaction.changed.add("targets")

    def add_publisher_key(self, publisher: str, key: str) -> None:
        """Register ``key`` (``ed25519:...``) as a current key of ``publisher`` (created if new)."""
        parse_public_key(key)
        if not publisher.strip():
            raise RegistryError("a publisher's name cannot be empty")
        with self._transaction() as transaction:
            directory = self.publishers()
            record = directory.publishers.get(publisher, PublisherRecord(keys=()))
            if key in record.revoked:
                raise RegistryError(
                    f"key {key_id(key)} of {publisher!r} was revoked; a revoked key is never trusted again"
                )
            if key in record.keys:
                return
            record = PublisherRecord(keys=(*record.keys, key), revoked=record.revoked)
            self._set_publishers(
                transaction, PublisherDirectory(publishers={**directory.publishers, publisher: record})
            )

    def revoke_publisher_key(self, publisher: str, key: str) -> None:
        """Revoke ``key`` of ``publisher``: signatures by it are refused from now on, here and at install."""
        parse_public_key(key)
        with self._transaction() as transaction:
            directory = self.publishers()
            record = directory.publishers.get(publisher)
            if record is None or key not in (*record.keys, *record.revoked):
                raise RegistryError(f"{key_id(key)} is not a key of publisher {publisher!r} on this index")
            if key in record.revoked:
                return
            record = PublisherRecord(keys=tuple(k for k in record.keys if k != key), revoked=(*record.revoked, key))
            self._set_publishers(
                transaction, PublisherDirectory(publishers={**directory.publishers, publisher: record})
            )

    # ---------------------------------------------------------------- roles

    def role_keys(self) -> dict[str, list[str]]:
        """Each role's key IDs, as the current metadata says."""
        transaction = self._begin()
        return {role: self._role_keyids(transaction, role) for role in ROLES}

    def rotate(self, role: str) -> tuple[str, str]:
        """Replace ``role``'s key with a new one; ``(old keyid, new keyid)``.

        A new root version lists the new key; it is signed by the old root key
        too, so a client holding the old root still accepts it (TUF's root
        chain).  The old private key file is deleted once nothing needs it.
        """
        if role not in ROLES:
            raise RegistryError(f"no role {role!r}; the roles are {', '.join(ROLES)}")
        with self._transaction() as transaction:
            old = self._role_keyids(transaction, role)[0]
            old_signer = self._signer(transaction, role)
            new_signer = self._new_key(role)
            new = new_signer.public_key.keyid
            if role == "bins":
                transaction.targets.signed.revoke_key(old)
                transaction.targets.signed.add_key(new_signer.public_key)
                transaction.changed.update({"targets", *BINS.get_roles()})
                for name in BINS.get_roles():
                    self._bin(transaction, name)
            else:
                root = transaction.root
                old_root_signer = old_signer if role == "root" else self._signer(transaction, "root")
                root.signed.revoke_key(old, role)
                root.signed.add_key(new_signer.public_key, role)
                root.signed.version += 1
                root.signed.expires = _now() + self.expiry["root"]
                root.sign(old_root_signer)
                if role == "root":
                    root.sign(new_signer, append=True)
                self._write(f"{root.signed.version}.root.json", root)
                self._root_version = root.signed.version
                if role == "targets":
                    transaction.changed.add("targets")
            self._commit(transaction)
            transaction.changed.clear()
        with contextlib.suppress(FileNotFoundError):
            self._key_path(role, old).unlink()
        return old, new

    def revoke_role_key(self, keyid: str) -> tuple[str, str, str]:
        """Revoke the registry key whose ID starts with ``keyid``: its role gets a new key; ``(role, old, new)``."""
        if len(keyid) < 8:
            raise RegistryError(f"give at least 8 hex digits of the key ID, not {keyid!r}")
        for role, keyids in self.role_keys().items():
            if any(candidate.startswith(keyid) for candidate in keyids):
                old, new = self.rotate(role)
                return role, old, new
        raise RegistryError(f"no role of this registry uses a key {keyid}… (see `symphony registry keys list DIR`)")

    def renew(self, *, now: datetime | None = None) -> list[str]:
        """Re-sign every online role past half its life (timestamp, snapshot, targets, bins); the roles renewed."""
        moment = now or _now()
        renewed: list[str] = []
        with self._lock.hold():
            transaction = self._begin()

            def stale(document: Metadata[Any], role: str) -> bool:
                left = document.signed.expires - moment
                # Past half its life, or signed for longer than this server's expiry allows (the setting shrank).
                return bool(left < self.expiry[role] / 2 or left > self.expiry[role] + timedelta(seconds=1))

            if stale(transaction.targets, "targets"):
                transaction.changed.add("targets")
            if self._bins_expire_at is None or self._bins_expire_at - moment < self.expiry["bins"] / 2:
                for name in BINS.get_roles():
                    if stale(self._bin(transaction, name), "bins"):
                        transaction.changed.add(name)
                self._bins_expire_at = min(
                    moment + self.expiry["bins"]
                    if name in transaction.changed
                    else self._bin(transaction, name).signed.expires
                    for name in BINS.get_roles()
                )
            if (
                transaction.changed
                or stale(transaction.snapshot, "snapshot")
                or stale(transaction.timestamp, "timestamp")
            ):
                self._commit(transaction)
                renewed = sorted({"targets" if role == "targets" else "bins" for role in transaction.changed})
                renewed += ["snapshot", "timestamp"]
        return renewed
