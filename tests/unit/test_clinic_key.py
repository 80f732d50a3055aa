"""The clinic key's transfer code and the staff-secret box: what a wrong code, another clinic, a
forged or hostile blob from the server, or a blob moved between records gets."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from pms_desktop.domain.errors import ValidationError
from pms_desktop.fhir.secret_box import ClinicSecretBox
from pms_desktop.security.clinic_key import (
    clinic_key_id,
    new_clinic_key,
    new_transfer_code,
    normalise_transfer_code,
    unwrap_clinic_key,
    wrap_clinic_key,
)

CLINIC = "3f1c2a9e-5b7d-4e21-9c0a-8d6f4b2e1a07"
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "sync" / "clinic_key_request.json"


@pytest.fixture(scope="module")
def wrapped() -> tuple[bytes, str, dict[str, Any]]:
    key, code = new_clinic_key(), new_transfer_code()
    return key, code, wrap_clinic_key(key, code, clinic_id=CLINIC)


def test_the_code_opens_the_key_however_it_is_typed(wrapped: Any) -> None:
    key, code, blob = wrapped
    typed = code.lower().replace("-", " ").replace("O", "0")
    assert unwrap_clinic_key(blob, typed, clinic_id=CLINIC, key_id=clinic_key_id(key)) == key
    assert len(normalise_transfer_code(code).replace("-", "")) == 24
    assert key.hex() not in json.dumps(blob) and base64.b64encode(key).decode() not in str(blob)


def test_the_wire_shape_is_the_shared_example(wrapped: Any) -> None:
    example = json.loads(FIXTURE.read_text("utf-8"))
    assert set(wrapped[2]) == set(example["wrapped"])
    assert wrapped[2]["alg"] == example["wrapped"]["alg"]


@pytest.mark.parametrize("what", ["code", "clinic", "key_id", "ciphertext", "salt"])
def test_anything_else_does_not_open_it(wrapped: Any, what: str) -> None:
    key, code, blob = wrapped
    kwargs = {"clinic_id": CLINIC, "key_id": clinic_key_id(key)}
    blob = dict(blob)
    if what == "code":
        code = new_transfer_code()
    elif what == "clinic":  # a blob of another clinic passed off by the server
        kwargs["clinic_id"] = "another-clinic"
    elif what == "key_id":
        kwargs["key_id"] = clinic_key_id(new_clinic_key())
    else:
        raw = bytearray(base64.b64decode(blob[what]))
        raw[0] ^= 1
        blob[what] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(ValidationError) as err:
        unwrap_clinic_key(blob, code, **kwargs)
    assert "clinic_key_code" in err.value.field_errors


@pytest.mark.parametrize("change", [
    {"memory_kib": 4 * 1024 * 1024},  # a hostile server asking for 4 GiB
    {"time_cost": 10_000}, {"parallelism": 0}, {"alg": "none"}, {"nonce": "AA=="},
    {"salt": None},
])
def test_hostile_parameters_are_refused_before_any_work(wrapped: Any,
                                                        change: dict[str, Any]) -> None:
    key, code, blob = wrapped
    with pytest.raises(ValidationError, match="cannot read"):
        unwrap_clinic_key({**blob, **change}, code, clinic_id=CLINIC, key_id=clinic_key_id(key))


@pytest.mark.parametrize("typed", ["", "ABCDEF", "ABCDEF-GHIJKL-MNOPQR-STUVW!", "x" * 40])
def test_malformed_codes_get_a_clear_message(typed: str) -> None:
    with pytest.raises(ValidationError, match="24 letters"):
        normalise_transfer_code(typed)


def test_sealing_is_stable_bound_to_the_record_and_names_its_key() -> None:
    key = new_clinic_key()
    box = ClinicSecretBox(key)
    secret = b'{"password_hash": "$argon2id$...", "totp_secret": "JBSWY3DPEHPK3PXP"}'
    sealed = box.seal(secret, bound_to="user-1")
    # Unchanged secrets seal to the same bytes: no false edit for the three-way merge.
    assert ClinicSecretBox(key).seal(secret, bound_to="user-1") == sealed
    assert box.seal(secret, bound_to="user-2") != sealed
    assert box.seal(secret + b" ", bound_to="user-1")[8:] != sealed[8:]
    assert box.open(sealed, bound_to="user-1") == secret
    assert b"JBSWY3DPEHPK3PXP" not in sealed
    with pytest.raises(ValidationError, match="do not open"):
        box.open(sealed, bound_to="user-2")
    with pytest.raises(ValidationError, match="another one"):
        ClinicSecretBox(new_clinic_key()).open(sealed, bound_to="user-1")
    assert "key" in repr(box) and key.hex() not in repr(box)
