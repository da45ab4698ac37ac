"""The HTTP client at its edges: a total deadline per request, a cap on decoded
bytes, broken compression, and a close from another thread.

Hostile servers are tiny socket handlers on 127.0.0.1 (or MockTransport streams);
each test is bounded by the guard it checks, a few seconds of wall time at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator

import httpx
import pytest
from pydantic import SecretStr

from userdir import InvalidResponseError, TransportError
from userdir._http import AsyncClient, ClientOptions, RequestCore, RetryPolicy, SyncClient
from userdir._pagination import PageRequest
from userdir.testing import FakeClock

Handler = Callable[[socket.socket, threading.Event], None]


@contextlib.contextmanager
def serve(handler: Handler) -> Iterator[str]:
    """A one-handler-per-connection server on 127.0.0.1; stops its handlers on exit."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            thread = threading.Thread(target=handle, args=(conn,), daemon=True)
            thread.start()
            threads.append(thread)

    def handle(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(3)
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(4096) or b"\r\n\r\n"
            handler(conn, stop)

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        acceptor.join(2)
        for thread in threads:
            thread.join(2)
        listener.close()


def drip(conn: socket.socket, stop: threading.Event) -> None:
    """Headers at once, then one body byte every 50 ms (3 s for the whole body)."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n")
    for _ in range(60):
        if stop.wait(0.05):
            return
        conn.sendall(b" ")


def drip_headers(conn: socket.socket, stop: threading.Event) -> None:
    """Does not finish its headers: one header byte every 50 ms (for 3 s)."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    for _ in range(60):
        if stop.wait(0.05):
            return
        conn.sendall(b"a")


def stall(conn: socket.socket, stop: threading.Event) -> None:
    stop.wait(3)


def acme(base_url: str) -> RequestCore:
    options = ClientOptions(auth_headers={"X-API-Key": SecretStr("ak_topsecret")})
    return RequestCore("acme", base_url, options, policy=RetryPolicy(max_retries=0))


def sync_client(base_url: str, **options: object) -> SyncClient:
    return SyncClient(acme(base_url), clock=FakeClock(), **options)  # type: ignore[arg-type]


@pytest.mark.loopback
@pytest.mark.parametrize("handler", [drip, drip_headers], ids=["body", "headers"])
def test_a_server_dripping_bytes_is_cut_off_at_the_total_deadline(handler: Handler) -> None:
    with serve(handler) as url:
        client = sync_client(url, timeout=0.5)
        started = time.monotonic()
        with pytest.raises(TransportError, match=r"timed out.*deadline") as caught:
            client.get_json(PageRequest("/users"))
        elapsed = time.monotonic() - started
        client.close()
    assert 0.5 <= elapsed < 1.2
    assert caught.value.__cause__ is None


@pytest.mark.loopback
def test_the_async_client_keeps_the_same_total_deadline() -> None:
    with serve(drip) as url:

        async def fetch() -> None:
            client = AsyncClient(acme(url), timeout=0.5, clock=FakeClock())
            try:
                await client.get_json(PageRequest("/users"))
            finally:
                await client.aclose()

        started = time.monotonic()
        with pytest.raises(TransportError, match=r"timed out.*deadline"):
            asyncio.run(fetch())
        assert time.monotonic() - started < 1.2


def streamed(chunks: Callable[[], Iterator[bytes]], **headers: str) -> httpx.MockTransport:
    """Answers with a body that arrives as a stream (not read in advance)."""

    class Body(httpx.SyncByteStream):
        closed = False

        def __iter__(self) -> Iterator[bytes]:
            return chunks()

        def close(self) -> None:
            Body.closed = True

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=headers, stream=Body())

    transport = httpx.MockTransport(answer)
    transport.body = Body  # type: ignore[attr-defined]
    return transport


def test_a_gzip_bomb_stops_at_the_cap_with_memory_near_it() -> None:
    bomb = gzip.compress(b"0" * 10 * 2**20)  # 10 MB of zeros in about 10 kB
    transport = streamed(lambda: iter([bomb]), **{"Content-Encoding": "gzip"})
    client = SyncClient(
        acme("https://api.acme.test"), transport=transport, max_response_bytes=2**20
    )
    tracemalloc.start()
    try:
        with pytest.raises(InvalidResponseError, match="byte cap"):
            client.get_json(PageRequest("/users"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * 2**20  # near the 1 MB cap, not the 10 MB it inflates to
    assert transport.body.closed  # type: ignore[attr-defined]


def test_an_endless_chunked_body_stops_at_the_cap_and_is_closed() -> None:
    def endless() -> Iterator[bytes]:
        while True:
            yield b"x" * 65536

    transport = streamed(endless)
    client = SyncClient(
        acme("https://api.acme.test"), transport=transport, max_response_bytes=2**20
    )
    with pytest.raises(InvalidResponseError, match="byte cap"):
        client.get_json(PageRequest("/users"))
    assert transport.body.closed  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", b"\x1f\x8b\x08\x00 this is not gzip"),
        ("deflate", b"x\x9c not deflate at all"),
        ("br", b"whatever"),  # not asked for: we send Accept-Encoding: gzip, deflate
    ],
)
def test_broken_or_unasked_compression_is_invalid_response(encoding: str, body: bytes) -> None:
    transport = streamed(lambda: iter([body]), **{"Content-Encoding": encoding})
    client = SyncClient(acme("https://api.acme.test"), transport=transport)
    with pytest.raises(InvalidResponseError) as caught:
        client.get_json(PageRequest("/users"))
    assert caught.value.__cause__ is None


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib", "raw"])
def test_deflate_is_read_wrapped_or_raw(wbits: int) -> None:
    packer = zlib.compressobj(wbits=wbits)
    body = packer.compress(b'{"ok": true}') + packer.flush()
    transport = streamed(lambda: iter([body[:1], body[1:]]), **{"Content-Encoding": "deflate"})
    client = SyncClient(acme("https://api.acme.test"), transport=transport)
    assert client.get_json(PageRequest("/users")) == {"ok": True}


@pytest.mark.loopback
def test_closing_from_another_thread_ends_the_request_in_flight() -> None:
    with serve(stall) as url:
        client = sync_client(url, timeout=30)
        errors: list[BaseException] = []

        def fetch() -> None:
            try:
                client.get_json(PageRequest("/users"))
            except BaseException as exc:
                errors.append(exc)

        sender = threading.Thread(target=fetch)
        sender.start()
        time.sleep(0.3)  # the request is on the wire, the server says nothing
        started = time.monotonic()
        client.close()
        assert time.monotonic() - started < 1
        sender.join(1)
        assert not sender.is_alive()
        [error] = errors
        assert isinstance(error, TransportError) and "closed" in str(error)
        with pytest.raises(TransportError, match="closed"):  # and nothing new starts
            client.get_json(PageRequest("/users"))
