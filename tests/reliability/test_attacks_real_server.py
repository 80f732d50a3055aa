"""Attacks on the wire and on the running server: the real ``pms-sync-server serve`` with TLS
under uvicorn on 127.0.0.1 (a subprocess bounded by ``timeout``), and impostor TLS listeners.

- The workstation's sync client talks to the real server when its certificate comes from the
  CA file the admin gave, and refuses the same server without that file; it refuses, before
  sending a single byte of a request, a listener that presents a self-signed certificate, an
  expired one, one for another host, one from a CA it was not told to trust, or that speaks
  only TLS 1.1 or 1.0.
- A device revoked with ``pms-sync-server admin device-revoke`` is refused on its very next
  request, on the connection it already had open.
- The admin sign-in limit outlives a restart of the server process.

The real server's attacks share one test: a server process is slow to start, and pytest-xdist
would start one per worker for a module-scoped fixture.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import ipaddress
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pms_desktop.sync.transport import (
    SyncClient,
    SyncOffline,
    SyncRefused,
    SyncUntrusted,
    TransportSettings,
    tls_context,
)
from sync_server.cli import main as server_cli
from tests.readiness import stop, wait_ready
from tests.reliability.figures import record

pytestmark = [pytest.mark.reliability, pytest.mark.e2e]

HOST = "127.0.0.1"
ADMIN_LIMIT = 6  # the served limit of admin sign-in attempts an hour (config file)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _admin(*args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert server_cli(["admin", *args]) == 0
    return out.getvalue().strip().splitlines()[-1]


@dataclass
class Pki:
    """The clinic admin's own CA (its file is what the workstation is told to trust)."""

    folder: Path
    ca: trustme.CA = field(default_factory=trustme.CA)

    @property
    def ca_file(self) -> Path:
        path = self.folder / "clinic-ca.pem"
        if not path.exists():
            self.ca.cert_pem.write_to_path(str(path))
        return path

    def leaf(self, name: str, *identities: str, not_before: dt.datetime | None = None,
             not_after: dt.datetime | None = None) -> tuple[Path, Path]:
        cert = self.ca.issue_cert(*identities, not_before=not_before, not_after=not_after)
        return self._write(name, cert.cert_chain_pems[0].bytes(), cert.private_key_pem.bytes())

    def self_signed(self, name: str) -> tuple[Path, Path]:
        """A certificate for 127.0.0.1 signed by its own key, as an impostor would make."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(hours=1))
                .not_valid_after(now + dt.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address(HOST))]), critical=False)
                .sign(key, hashes.SHA256()))
        return self._write(name, cert.public_bytes(serialization.Encoding.PEM),
                           key.private_bytes(serialization.Encoding.PEM,
                                             serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))

    def _write(self, name: str, cert: bytes, key: bytes) -> tuple[Path, Path]:
        cert_path, key_path = self.folder / f"{name}.pem", self.folder / f"{name}.key"
        cert_path.write_bytes(cert)
        key_path.write_bytes(key)
        key_path.chmod(0o600)
        return cert_path, key_path


@dataclass
class RealServer:
    data: Path
    pki: Pki
    port: int = field(default_factory=_free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.port}"

    def counted(self, at_least: int, timeout: float = 10.0) -> int:
        """The handshakes completed, once at least ``at_least`` are counted (the listener's
        thread counts a handshake after the client has seen it done; bounded wait)."""
        deadline = time.monotonic() + timeout
        while self.handshakes < at_least and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.handshakes

    def start(self) -> None:
        cert, key = self.pki.leaf("server", HOST, "localhost")
        config = self.data.parent / "server.toml"
        config.write_text(f"[auth_rate]\nper_hour = {ADMIN_LIMIT}\nburst = 100\n")
        command = [sys.executable, "-m", "sync_server", "serve", "--data-dir", str(self.data),
                   "--host", HOST, "--port", str(self.port), "--tls-cert", str(cert),
                   "--tls-key", str(key), "--config", str(config)]
        if shutil.which("timeout"):
            command = ["timeout", "300", *command]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL,  # noqa: S603
                                     stderr=subprocess.DEVNULL)
        trust = ssl.create_default_context(cafile=str(self.pki.ca_file))
        wait_ready(self.proc, self.url, verify=trust)

    def stop(self) -> None:
        if self.proc is None:
            return
        stop(self.proc, grace=10)
        self.proc = None

    def cli(self, *args: str) -> str:
        return _admin(args[0], "--data-dir", str(self.data), *args[1:])


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


def _client(url: str, ca_file: Path | None, token: str | None = None) -> SyncClient:
    return SyncClient(TransportSettings(url, ca_file=ca_file, connect_timeout=5,
                                        read_timeout=10, retries=0), token)


# -- impostors -------------------------------------------------------------------------------


class Impostor:
    """A TLS listener on 127.0.0.1 with a given server context. It records the handshakes it
    completed and every byte of plaintext it received, and answers any request with ``{}``."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        self.sock = socket.create_server((HOST, 0))
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.handshakes = 0
        self.plaintext = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> Impostor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.sock.close()

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.port}"

    def counted(self, at_least: int, timeout: float = 10.0) -> int:
        """The handshakes completed, once at least ``at_least`` are counted (the listener's
        thread counts a handshake after the client has seen it done; bounded wait)."""
        deadline = time.monotonic() + timeout
        while self.handshakes < at_least and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.handshakes

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                self._handle(conn)

    def _handle(self, conn: socket.socket) -> None:
        try:
            with self.context.wrap_socket(conn, server_side=True) as tls:
                self.handshakes += 1
                data = tls.recv(65536)
                self.plaintext += data
                if data:
                    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                b"Content-Length: 2\r\nConnection: close\r\n\r\n{}")
        except (ssl.SSLError, OSError):
            pass  # the client walked away, which is what it should do


def _server_context(cert: tuple[Path, Path], *, version: ssl.TLSVersion | None = None
                    ) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert[0]), str(cert[1]))
    if version is not None:
        # Old protocols need the lowest OpenSSL security level to be offered at all.
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():  # deprecated protocols, asked for on purpose
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = context.maximum_version = version
    return context


def _verify_failure(error: BaseException) -> str | None:
    """The TLS error at the root of a client failure, in OpenSSL's words, if there is one."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return str(getattr(seen, "verify_message", None) or seen).replace("self signed",
                                                                               "self-signed")
        seen = seen.__cause__ or seen.__context__
    return None


def _attempt_enrolment(url: str, ca_file: Path | None) -> BaseException | None:
    """What the workstation does first with a server: enrol. The error it raised, or None."""
    try:
        with _client(url, ca_file) as client:
            client.enrol("ABCD-EFGH-JKLM-NPQR", "front desk")
    except (SyncOffline, SyncRefused, SyncUntrusted) as e:
        return e
    return None


# -- tests -----------------------------------------------------------------------------------


def _impostor_certificate(pki: Pki, kind: str) -> tuple[Path, Path]:
    now = dt.datetime.now(dt.UTC)
    if kind == "self-signed":
        return pki.self_signed("self-signed")
    if kind == "expired":
        return pki.leaf("expired", HOST, not_before=now - dt.timedelta(days=30),
                        not_after=now - dt.timedelta(days=1))
    if kind == "another host":
        return pki.leaf("other-host", "clinic-b.example", "10.9.8.7")
    other_ca = Pki(pki.folder / "other")
    other_ca.folder.mkdir(exist_ok=True)
    return other_ca.leaf("unknown-ca", HOST)


# What OpenSSL names as the reason: proof that each case fails for its own defect.
REASONS = {"self-signed": "self-signed", "expired": "expired",
           "another host": "mismatch", "unknown CA": "unable to get local issuer"}


@pytest.mark.parametrize("kind", list(REASONS))
def test_the_client_refuses_an_untrusted_certificate(pki: Pki, kind: str) -> None:
    cert = _impostor_certificate(pki, kind)
    with Impostor(_server_context(cert)) as impostor:
        error = _attempt_enrolment(impostor.url, pki.ca_file)
    record("attacks", trials=1, faults=1, leaks=int(bool(impostor.plaintext)))
    assert error is not None, f"the client talked to a server with a {kind} certificate"
    assert impostor.plaintext == b"", "request bytes reached the impostor"
    cause = _verify_failure(error)
    assert cause is not None and REASONS[kind] in cause, cause
    # told as such, not as "the server cannot be reached": waiting will not fix it
    assert isinstance(error, SyncUntrusted) and "not trusted" in str(error)


def _platform_speaks(version: ssl.TLSVersion, listener: Impostor, pki: Pki) -> bool:
    """Whether this OpenSSL can do ``version`` at all (a deliberately permissive client)."""
    context = ssl.create_default_context(cafile=str(pki.ca_file))
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        with socket.create_connection((HOST, listener.port), timeout=5) as raw, \
                context.wrap_socket(raw, server_hostname=HOST) as tls:
            return tls.version() == {ssl.TLSVersion.TLSv1_1: "TLSv1.1",
                                     ssl.TLSVersion.TLSv1: "TLSv1"}[version]
    except (ssl.SSLError, OSError, ValueError):
        return False


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1],
                         ids=["TLSv1.1", "TLSv1.0"])
def test_the_client_refuses_tls_below_1_2(pki: Pki, version: ssl.TLSVersion) -> None:
    cert = pki.leaf("old-tls", HOST)  # a good certificate: only the protocol is wrong
    with Impostor(_server_context(cert, version=version)) as impostor:
        if not _platform_speaks(version, impostor, pki):
            # This OpenSSL cannot offer the old protocol even when asked: check the client's
            # own floor instead.
            assert tls_context(pki.ca_file).minimum_version >= ssl.TLSVersion.TLSv1_2
            pytest.skip(f"this platform cannot offer {version.name}: checked the client floor")
        control = impostor.counted(1)  # the probe's own handshake, counted
        error = _attempt_enrolment(impostor.url, pki.ca_file)
        handshakes = impostor.handshakes - control
    record("attacks", trials=1, faults=1, leaks=handshakes)
    assert error is not None and handshakes == 0
    assert impostor.plaintext == b""
    assert isinstance(error, SyncUntrusted) and "TLS 1.2" in str(error)


def _revoked_device_is_refused_at_once(server: RealServer, pki: Pki) -> int:
    """Revoked with the admin command while the device's connection is open: every call
    after it is a 401. Returns how many calls got through."""
    clinic = server.cli("clinic-add", "Revoking Clinic")
    with _client(server.url, pki.ca_file) as client:
        device = client.enrol(server.cli("enrol-code", "--clinic", clinic), "stolen laptop")
    refused = 0
    with _client(server.url, pki.ca_file, device.token) as client:
        assert client.digest()["count"] == 0  # the connection is open and warm
        server.cli("device-revoke", device.device_id)
        calls = (client.digest, lambda: client.pull(0, 10), lambda: client.push([]),
                 lambda: client.upload_audit([]), lambda: client.type_digest("Patient", None))
        for call in calls:
            try:
                call()
            except SyncRefused as e:
                refused += e.status == 401
    record("attacks", trials=1, faults=len(calls), leaks=len(calls) - refused)
    return len(calls) - refused


def _admin_guesses(server: RealServer, pki: Pki, n: int) -> list[int]:
    trust = ssl.create_default_context(cafile=str(pki.ca_file))
    guess = {"username": "root", "password": "guess guess guess", "totp": "123456"}
    with httpx.Client(base_url=server.url, verify=trust, timeout=10) as http:
        return [http.post("/admin/token", json=guess).status_code for _ in range(n)]


def test_the_real_server(tmp_path: Path, pki: Pki) -> None:
    """One server process (they are slow to start), four attacks in turn."""
    server = RealServer(tmp_path / "data", pki)
    server.start()
    try:
        # The admin's CA file makes the server trusted ...
        clinic = server.cli("clinic-add", "Trusting Clinic")
        with _client(server.url, pki.ca_file) as client:
            enrolled = client.enrol(server.cli("enrol-code", "--clinic", clinic), "desk")
        with _client(server.url, pki.ca_file, enrolled.token) as client:
            assert client.digest()["count"] == 0
        # ... and without it the public roots do not cover the clinic's own CA.
        error = _attempt_enrolment(server.url, None)
        cause = _verify_failure(error) if error else None
        record("attacks", trials=1, faults=1, leaks=int(error is None))
        assert cause is not None and "unable to get local issuer" in cause, cause
        # A revoked device is refused on its very next request.
        assert _revoked_device_is_refused_at_once(server, pki) == 0
        # The admin sign-in limit outlives a restart of the server process.
        before = _admin_guesses(server, pki, ADMIN_LIMIT)
        server.stop()
        server.start()
        after = _admin_guesses(server, pki, 3)
        record("attacks", trials=1, faults=ADMIN_LIMIT + 3, leaks=after.count(401))
        assert before == [401] * ADMIN_LIMIT
        assert after == [429] * 3
    finally:
        server.stop()
