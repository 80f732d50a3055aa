"""A push body is read the same whichever JSON reader reads it: long integers keep every digit
(orjson would read one beyond 64 bits as a float), and what ``json`` refused is still a 400."""

from __future__ import annotations

import json
import uuid

import pytest
from fastapi.testclient import TestClient

from sync_server.errors import BadRequest
from sync_server.fhir.validate import parse_json
from tests.server.server_helpers import Tenant


@pytest.mark.parametrize("raw", [
    b'{"a": 12345678901234567890123, "b": -9999999999999999999, "c": 9223372036854775807}',
    b'{"a": 1, "a": 2}', b"[1.5e-400, 0.1, -0, 1E2, 3.141592653589793]", b'"\\ud83d\\ude00"',
    b'"\\u0000"', b'\xef\xbb\xbf{"bom": true}', b"1e400", b'{"ok": "caf\xc3\xa9"}'])
def test_read_as_json_reads_it(raw: bytes) -> None:
    assert repr(parse_json(raw)) == repr(json.loads(raw))


@pytest.mark.parametrize("raw", [b'{"a": NaN}', b"[Infinity]", b'"\\ud800"', b'{"a": "\x00"}',
                                 b'{"a": 1', b"\xff\xfe", b"  "])
def test_what_json_refused_is_refused(raw: bytes) -> None:
    with pytest.raises(BadRequest):
        parse_json(raw)


def test_a_long_decimal_comes_back_with_every_digit(client: TestClient,
                                                    clinic_a: Tenant) -> None:
    oid = str(uuid.uuid4())
    digits = "123456789012345678901234567"
    resource = json.dumps({"resourceType": "Observation", "id": oid, "status": "final",
                           "code": {"text": "count"}, "valueQuantity": {"value": 0}})
    change = json.dumps({"change_id": str(uuid.uuid4()), "resource_type": "Observation",
                         "resource_id": oid, "op": "upsert", "base_version": None,
                         "resource": "RESOURCE"})
    raw = ('{"changes": [' + change.replace('"RESOURCE"', resource.replace(
        '"value": 0', f'"value": {digits}')) + "]}").encode()
    pushed = client.post("/sync/push", content=raw,
                         headers={**clinic_a.headers, "Content-Type": "application/json"})
    assert pushed.status_code == 200, pushed.text
    assert pushed.json()["results"][0]["status"] == "applied"
    read = client.get(f"/fhir/Observation/{oid}", headers=clinic_a.headers)
    assert read.status_code == 200
    assert f'"value":{digits}' in read.text.replace(" ", "")
