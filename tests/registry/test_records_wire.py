"""A release's signed metadata survives TUF's canonical JSON, which has no floats."""

from __future__ import annotations

import pytest
from securesystemslib.formats import encode_canonical

from symphony.hookspecs import RegistryError
from symphony.registry.records import ReleaseMetadata, decode_release, encode_release


def _metadata() -> ReleaseMetadata:
    return ReleaseMetadata(
        distribution="acme-echo",
        version="1.0.0",
        filename="acme_echo-1.0.0-py3-none-any.whl",
        uploaded_at=1700000000.0,
        extension="acme-echo",
        manifest={"resources": {"timeout": 5.5}, "extension": {"name": "acme-echo"}},
        manifest_sha256="ab" * 32,
    )


def test_the_wire_form_is_canonical_json() -> None:
    encode_canonical(encode_release(_metadata()))


def test_the_wire_form_decodes_to_the_same_metadata() -> None:
    assert decode_release(encode_release(_metadata())) == _metadata()


def test_malformed_wire_metadata_is_a_registry_error() -> None:
    with pytest.raises(RegistryError, match="malformed"):
        decode_release({"distribution": 3})
