"""A loopback HTTP proxy that injects network faults between a workstation and the sync server.

It runs an asyncio server on 127.0.0.1 in a daemon thread of the test process. Each request is
read whole (head, then ``Content-Length`` bytes of body), a rule picks a :class:`Fault` for it,
and the proxy acts it out on a fresh upstream connection (``Connection: close`` both ways, so a
request is exactly one connection and a fault never leaks into the next request):

========================  =======================================================================
``pass``                  forward, answer
``drop``                  close the client's connection without forwarding
``reset``                 abort the client's connection with a TCP RST, without forwarding
``delay``                 wait ``seconds``, then forward
``throttle``              forward both ways at ``rate`` bytes a second
``stall``                 never answer (the client's read timeout ends it; bounded by ``DEADLINE``)
``status``                answer ``status`` (500, 503, ...) without forwarding
``garbage``               answer 200 with an HTML page (a captive portal), without forwarding
``cut-request``           forward the head and half the body, then close both sides
``cut-response``          forward, then pass on half the answer and close
``lose-answer``           forward, read the whole answer (the server committed), close unanswered
``duplicate``             forward the request twice at once (a middlebox retrying on its own);
                          the client gets the first answer, the other is logged as well
========================  =======================================================================

A fault may carry a ``hook`` called in the proxy's thread at its moment (``cut-request``: once
half the body has arrived; ``lose-answer``: once the server has answered; others: before the
fault acts): the crash tests use it to SIGKILL the workstation at exactly that point.

Every exchange is logged (method, path, request body when complete, fault, upstream status), so
that a test can check what the client sent, for example that a retry reused its change ids.
Everything is bounded: one connection handler lives at most ``DEADLINE`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

DEADLINE = 60.0
KINDS = ("pass", "drop", "reset", "delay", "throttle", "stall", "status", "garbage",
         "cut-request", "cut-response", "lose-answer", "duplicate")
# Faults that never let the request reach the server (the client may safely assume nothing).
NOT_FORWARDED = ("drop", "reset", "stall", "status", "garbage")


@dataclass(frozen=True)
class Fault:
    kind: str = "pass"
    seconds: float = 0.0  # delay
    rate: int = 0  # throttle: bytes a second
    status: int = 503  # status
    hook: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault {self.kind!r}")


PASS = Fault()


@dataclass(frozen=True)
class Request:
    """What a rule sees: the request line (a rule decides before the body has arrived)."""

    method: str
    path: str  # with the query string


@dataclass
class Exchange:
    method: str
    path: str
    fault: str
    body: bytes | None  # None when the request was not read whole
    status: int | None = None  # the server's answer, when it answered


Rule = Callable[[Request], Fault]


@dataclass
class FaultProxy:
    upstream_port: int
    upstream_host: str = "127.0.0.1"
    port: int = 0
    log: list[Exchange] = field(default_factory=list)
    # Passed on as X-Forwarded-For, as a reverse proxy in front of the server does: the address
    # of the workstation behind this proxy (the server counts enrolment attempts per address).
    client_address: str | None = None

    def __post_init__(self) -> None:
        self._rule: Rule = lambda _req: PASS
        self._script: deque[tuple[str, Fault]] = deque()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None

    # -- control (from the test's thread) ---------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_rule(self, rule: Rule | None) -> None:
        """Decide each request's fault (after any scripted faults are used up)."""
        with self._lock:
            self._rule = rule or (lambda _req: PASS)

    def script(self, path_prefix: str, *faults: Fault) -> None:
        """The next requests whose path (or ``METHOD path``) starts with ``path_prefix`` get
        these faults, in order."""
        with self._lock:
            self._script.extend((path_prefix, f) for f in faults)

    def reset(self) -> None:
        """No rule, no script, an empty log."""
        with self._lock:
            self._rule = lambda _req: PASS
            self._script.clear()
            self.log = []

    def exchanges(self, path_prefix: str = "") -> list[Exchange]:
        with self._lock:
            return [x for x in self.log if x.path.startswith(path_prefix)]

    def start(self) -> FaultProxy:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._server = loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", self.port))
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name="fault-proxy", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fault proxy did not start")
        return self

    def stop(self) -> None:
        loop, server = self._loop, self._server
        if loop is None or server is None:
            return

        async def shutdown() -> None:
            server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        with contextlib.suppress(RuntimeError):
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = self._server = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the proxy (in its own thread) ------------------------------------------------------

    def _choose(self, request: Request) -> Fault:
        with self._lock:
            line = f"{request.method} {request.path}"
            for i, (prefix, fault) in enumerate(self._script):
                if request.path.startswith(prefix) or line.startswith(prefix):
                    del self._script[i]
                    return fault
            return self._rule(request)

    def _record(self, exchange: Exchange) -> Exchange:
        with self._lock:
            self.log.append(exchange)
        return exchange

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await asyncio.wait_for(self._serve(reader, writer), DEADLINE)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ValueError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        method, path, headers = _parse_head(head)
        length = int(headers.get("content-length", "0"))
        if headers.get("transfer-encoding"):
            raise ValueError("chunked requests are not supported")
        # Peek at the rule before the body arrives, so that cut-request can stop half way.
        first = await reader.readexactly(length // 2)
        fault = self._choose(Request(method, path))
        if fault.kind == "cut-request":
            self._record(Exchange(method, path, fault.kind, None))
            _call(fault.hook)
            _up_reader, up_writer = await self._upstream()
            up_writer.write(_forward_head(head, self.client_address) + first)
            await up_writer.drain()
            up_writer.close()
            return
        body = first + await reader.readexactly(length - len(first))
        exchange = self._record(Exchange(method, path, fault.kind, body))
        if fault.kind != "lose-answer":
            _call(fault.hook)
        if fault.kind == "drop":
            return
        if fault.kind == "reset":
            _abort(writer)
            return
        if fault.kind == "stall":
            await asyncio.sleep(DEADLINE)
            return
        if fault.kind == "status":
            payload = (b'{"resourceType":"OperationOutcome","issue":[{"severity":"error",'
                       b'"code":"transient","diagnostics":"injected by the fault proxy"}]}')
            writer.write(_response(fault.status, payload, "application/fhir+json"))
            await writer.drain()
            return
        if fault.kind == "garbage":
            writer.write(_response(200, b"<html><body>Sign in to the hotel Wi-Fi</body></html>",
                                   "text/html"))
            await writer.drain()
            return
        if fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
        request = _forward_head(head, self.client_address) + body
        if fault.kind == "duplicate":
            answer, again = await asyncio.gather(self._exchange(request, 0),
                                                 self._exchange(request, 0))
            self._record(Exchange(method, path, "duplicate (copy)", body, _status(again)))
        else:
            answer = await self._exchange(request, fault.rate)
        exchange.status = _status(answer)
        if fault.kind == "lose-answer":
            _call(fault.hook)
            return
        if fault.kind == "cut-response":
            answer = answer[: max(1, len(answer) - max(1, len(answer) // 3))]
        await _send(writer, answer, fault.rate)

    async def _upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(self.upstream_host, self.upstream_port)

    async def _exchange(self, request: bytes, rate: int) -> bytes:
        """Send a request upstream on a connection of its own; the whole answer."""
        up_reader, up_writer = await self._upstream()
        await _send(up_writer, request, rate)
        answer = await up_reader.read()  # Connection: close, so the answer ends at EOF
        up_writer.close()
        return answer


def _call(hook: Callable[[], None] | None) -> None:
    if hook is not None:
        hook()


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    method, path, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return method, path, headers


def _forward_head(head: bytes, client: str | None) -> bytes:
    lines = [x for x in head.decode("latin-1").split("\r\n") if x]
    dropped = ("connection:", "x-forwarded-for:")
    kept = [lines[0], *(x for x in lines[1:] if not x.lower().startswith(dropped))]
    extra = ["Connection: close", *([f"X-Forwarded-For: {client}"] if client else [])]
    return ("\r\n".join([*kept, *extra]) + "\r\n\r\n").encode("latin-1")


def _response(status: int, body: bytes, content_type: str) -> bytes:
    reason = {200: "OK", 500: "Internal Server Error", 502: "Bad Gateway",
              503: "Service Unavailable", 504: "Gateway Timeout"}.get(status, "Error")
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n").encode() + body


def _status(answer: bytes) -> int | None:
    try:
        return int(answer.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


async def _send(writer: asyncio.StreamWriter, data: bytes, rate: int) -> None:
    if rate <= 0:
        writer.write(data)
        await writer.drain()
        return
    chunk = max(1, rate // 20)
    for start in range(0, len(data), chunk):
        writer.write(data[start:start + chunk])
        await writer.drain()
        await asyncio.sleep(0.05)


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0) instead of an orderly FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
