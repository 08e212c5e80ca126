"""The manifest types' own behaviour: unit parsing and the Secret wrapper."""

from __future__ import annotations

import copy
import json
import logging
import pickle

import msgspec
import pytest

from symphony.hookspecs import Resources, Secret, parse_cpu, parse_memory


@pytest.mark.parametrize(
    ("text", "size"),
    [("2GB", 2_000_000_000), ("512MiB", 512 * 1024**2), ("1.5 kib", 1536), ("1048576", 1048576), ("64mb", 64_000_000)],
)
def test_memory_sizes_use_decimal_and_binary_units(text: str, size: int) -> None:
    assert parse_memory(text) == size


@pytest.mark.parametrize("text", ["lots", "2 gigs", "-1GB", ""])
def test_memory_size_without_a_known_unit_is_refused_with_examples(text: str) -> None:
    with pytest.raises(ValueError, match="'2GB'"):
        parse_memory(text)


def test_memory_size_of_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="not a positive size"):
        parse_memory("0")


def test_cpu_limit_is_a_share_of_one_core() -> None:
    assert parse_cpu("50%") == 0.5
    assert parse_cpu("200%") == 2.0
    with pytest.raises(ValueError, match="percentage of one core"):
        parse_cpu("0.5")


def test_resources_defaults_are_usable_limits() -> None:
    resources = Resources()
    assert resources.memory_bytes() == 1024**3
    assert resources.cpu_cores() == 1.0
    assert resources.timeout == 60.0
    assert resources.gpu_required is False


def test_secret_is_hidden_by_repr_str_format_and_json() -> None:
    secret = Secret("sk-live-abc")
    config = {"api_key": secret}
    shown = [repr(secret), str(secret), f"{secret}", f"{secret:>20}", repr(config), str(config)]
    shown.append(msgspec.json.encode(config, enc_hook=Secret.enc_hook).decode())
    assert all("sk-live-abc" not in text for text in shown)
    assert json.loads(shown[-1]) == {"api_key": "***"}
    assert secret.reveal() == "sk-live-abc"


def test_secret_is_hidden_in_log_records(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        logging.getLogger("tests").info("config %s %r", {"k": Secret("sk-live-abc")}, Secret("sk-live-abc"))
    assert "sk-live-abc" not in caplog.text
    assert "***" in caplog.text


def test_secret_is_not_encodable_without_the_redacting_hook() -> None:
    with pytest.raises(TypeError):
        msgspec.json.encode({"k": Secret("sk-live-abc")})


def test_secret_refuses_pickling_so_it_cannot_leave_the_process_by_accident() -> None:
    with pytest.raises(TypeError, match=r"reveal\(\)"):
        pickle.dumps(Secret("sk-live-abc"))


def test_secret_survives_copy_and_deepcopy_of_a_configuration() -> None:
    config = {"api_key": Secret("x")}
    assert copy.deepcopy(config)["api_key"].reveal() == "x"
    assert copy.copy(config["api_key"]) == Secret("x")
