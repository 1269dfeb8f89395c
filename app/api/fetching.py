"""Fetching an image or file a request names by URL, without becoming a proxy into the LAN.

A bridge runs beside the person's own machines, and a tunnel may expose its API: a URL in a
request must never reach a private, loopback or link-local address (the router, a metadata
service, another local server). So fetching is off unless `BRIDGE_FETCH_URLS` allows it,
and then every hop is resolved first and refused unless *all* its addresses are global; the
connection goes to the address that was checked (the host name kept for TLS and `Host`), so
a second DNS answer cannot swap it; redirects are followed by hand, each one checked again;
the body stops at `BRIDGE_FETCH_MAX_MB`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

import httpx

Resolve = Callable[[str, int], Awaitable[list[str]]]

MAX_REDIRECTS = 3
TIMEOUT = httpx.Timeout(20.0)


class FetchRefusedError(ValueError):
    """The URL may not or could not be fetched; the message says why and what to do."""

    def __init__(self, message: str, code: str = "invalid_url") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Fetched:
    data: bytes
    mime_type: str | None
    filename: str | None


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (the system's resolver, off the event loop)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def is_public(address: str) -> bool:
    """A global unicast address: not private, loopback, link-local, reserved or multicast."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class UrlFetcher:
    """GET one http(s) URL into memory, within the rules in the module docstring."""

    def __init__(
        self,
        max_bytes: int,
        *,
        resolve: Resolve = resolve_host,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._max_bytes = max_bytes
        self._resolve = resolve
        self._transport = transport

    async def fetch(self, url: str) -> Fetched:
        async with httpx.AsyncClient(
            transport=self._transport, timeout=TIMEOUT, follow_redirects=False
        ) as client:
            current = httpx.URL(url)
            for _hop in range(MAX_REDIRECTS + 1):
                pinned, extensions = await self._pinned(current)
                request = client.build_request(
                    "GET", pinned, headers={"Host": current.netloc.decode()}, extensions=extensions
                )
                try:
                    response = await client.send(request, stream=True)
                except httpx.HTTPError as error:
                    raise FetchRefusedError(f"Fetching {current} failed: {error}.") from None
                try:
                    if response.is_redirect and "location" in response.headers:
                        current = current.join(response.headers["location"])
                        continue
                    return await self._read(current, response)
                finally:
                    await response.aclose()
        raise FetchRefusedError(f"{url} redirects more than {MAX_REDIRECTS} times.")

    async def _pinned(self, url: httpx.URL) -> tuple[httpx.URL, dict[str, str]]:
        """The URL aimed at a checked address of its host, and the TLS name to expect."""
        if url.scheme not in ("http", "https") or not url.host:
            raise FetchRefusedError(f"Only http(s) URLs can be fetched, not {url}.")
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            addresses = await self._resolve(url.host, port)
        except OSError as error:
            raise FetchRefusedError(f"The host of {url} cannot be resolved ({error}).") from None
        if not addresses or not all(is_public(address) for address in addresses):
            raise FetchRefusedError(
                f"{url} points to a private, loopback or link-local address, which the bridge "
                "never fetches. Send the file as data (a data URL or file_data) instead.",
                code="url_not_allowed",
            )
        extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
        return url.copy_with(host=addresses[0]), extensions

    async def _read(self, url: httpx.URL, response: httpx.Response) -> Fetched:
        if response.status_code >= 400:
            raise FetchRefusedError(f"Fetching {url} answered HTTP {response.status_code}.")
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self._max_bytes:
            raise self._too_large(url)
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > self._max_bytes:
                raise self._too_large(url)
        mime = response.headers.get("content-type", "").split(";", 1)[0].strip() or None
        name = PurePosixPath(url.path).name or None
        return Fetched(bytes(body), mime, name)

    def _too_large(self, url: httpx.URL) -> FetchRefusedError:
        return FetchRefusedError(
            f"{url} is larger than the {self._max_bytes // (1024 * 1024)} MB the bridge fetches "
            "(BRIDGE_FETCH_MAX_MB).",
            code="file_too_large",
        )
