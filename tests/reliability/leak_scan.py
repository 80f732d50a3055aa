"""Search files for canary patient data, however it was written.

A canary is found in a file as UTF-8, UTF-16 (either byte order) or base64 of either, in any
letter case; also in a PDF's page text (its content streams are compressed, often ASCII85 too:
pypdf decodes them and extracts the text) and inside gzip files. ``scan`` walks folders and
names every file and canary it found.
"""

from __future__ import annotations

import base64
import gzip
import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pypdf import PdfReader


@dataclass(frozen=True)
class Finding:
    path: Path
    canary: str
    how: str

    def __str__(self) -> str:
        return f"{self.path}: {self.canary!r} ({self.how})"


def _needles(canary: str) -> dict[str, list[bytes]]:
    text = canary.lower()
    plain = {"utf-8": text.encode(), "utf-16-le": text.encode("utf-16-le"),
             "utf-16-be": text.encode("utf-16-be")}
    found: dict[str, list[bytes]] = {k: [v] for k, v in plain.items()}
    for name, raw in (("utf-8", canary.encode()), ("utf-16-le", canary.encode("utf-16-le"))):
        # base64 of the canary at each of the three alignments, without the edge characters
        # that depend on the bytes around it; base64 is case-sensitive, so the canary as typed
        variants = []
        for shift in range(3):
            encoded = base64.b64encode(b"\0" * shift + raw)
            variants.append(encoded[4 if shift else 0: -4])
        found[f"base64 {name}"] = [v for v in variants if len(v) >= 8]
    return found


def _views(data: bytes) -> Iterable[tuple[str, bytes]]:
    yield "", data
    if data[:2] == b"\x1f\x8b":
        try:
            yield "gzip ", gzip.decompress(data)
        except (OSError, EOFError):
            pass
    if data[:5] == b"%PDF-":
        yield from _pdf_views(data)


def _pdf_views(data: bytes) -> Iterable[tuple[str, bytes]]:
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        for page in reader.pages:
            contents = page.get_contents()
            if contents is not None:
                yield "pdf content ", contents.get_data()
            yield "pdf text ", page.extract_text().encode()
        if reader.metadata:
            yield "pdf metadata ", repr(dict(reader.metadata)).encode()
    except Exception:  # noqa: BLE001 - a PDF pypdf cannot read is still searched as bytes
        return


def scan_bytes(data: bytes, canaries: Iterable[str]) -> list[tuple[str, str]]:
    hits = []
    for where, view in _views(data):
        lowered = view.lower()
        for canary in canaries:
            for how, needles in _needles(canary).items():
                haystack = view if how.startswith("base64") else lowered
                if any(n in haystack for n in needles):
                    hits.append((canary, where + how))
    return hits


def scan(roots: Iterable[Path], canaries: Iterable[str], *,
         skip: Iterable[Path] = ()) -> tuple[list[Finding], int]:
    """Every (file, canary) found under ``roots`` but outside ``skip``; and how many files."""
    canaries, skipped = list(canaries), [p.resolve() for p in skip]
    findings: list[Finding] = []
    files = 0
    for root in roots:
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in paths:
            if any(path.resolve().is_relative_to(s) for s in skipped):
                continue
            files += 1
            try:
                data = path.read_bytes()
            except OSError:
                continue
            findings += [Finding(path, c, how) for c, how in scan_bytes(data, canaries)]
    return findings, files
