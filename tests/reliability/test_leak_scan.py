"""The leak scanner finds a canary however a file holds it (so that finding nothing means
something): plain in any case, UTF-16, base64, gzip, inside a PDF's compressed page text."""

from __future__ import annotations

import base64
import gzip
import io
import json
from pathlib import Path

import pytest
from reportlab.pdfgen import canvas

from tests.reliability.leak_scan import scan

pytestmark = pytest.mark.reliability

CANARY = "Quenbyrrow Zaltmarshe"


def _pdf(text: str) -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out, pageCompression=1)
    page.drawString(72, 720, text)
    page.save()
    return out.getvalue()


@pytest.mark.parametrize("encode", [
    lambda t: t.upper().encode(),
    lambda t: t.encode("utf-16-le"),
    lambda t: t.encode("utf-16"),
    lambda t: t.encode("utf-16-be"),
    lambda t: json.dumps({"x": base64.b64encode(b"pre" + t.encode()).decode()}).encode(),
    lambda t: base64.b64encode(t.encode("utf-16-le")),
    lambda t: gzip.compress(t.encode()),
    _pdf,
], ids=["upper", "utf-16-le", "utf-16-bom", "utf-16-be", "base64-in-json", "base64-utf-16",
        "gzip", "pdf"])
def test_the_scanner_finds_a_canary_however_it_was_written(tmp_path: Path, encode) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "file").write_bytes(encode(f"Patient: {CANARY}, seen today"))
    (tmp_path / "clean").write_bytes(encode("nothing to see here, only Mary Murphy"))
    found, files = scan([tmp_path], [CANARY])
    assert files == 2
    assert {f.path.name for f in found} == {"file"}
    assert scan([tmp_path], [CANARY], skip=[tmp_path / "file"])[0] == []
