"""A one-way channel of items from a producer task to one async-iterating consumer.

A turn's reader task produces answer deltas while the caller iterates them; the same shape
(an `asyncio.Queue` closed by an end marker, an error delivered in-band) recurs wherever a
task feeds a stream. This is that shape once: `put()` items, then `close()` or `fail(error)`;
`async for item in channel` yields the items in order and then ends, or raises the error.
After the end every further iteration stops at once, so a consumer may iterate again safely.
"""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

T = TypeVar("T")

_END = object()


class Channel(Generic[T]):
    """Unbounded FIFO of `T`, ended by `close()` or `fail()`; iterate it once to drain it."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._closed = False
        self._over = False

    @property
    def closed(self) -> bool:
        """No more items will be put (the consumer may still be draining)."""
        return self._closed

    def put(self, item: T) -> None:
        if self._closed:
            raise RuntimeError("put() on a closed channel")
        self._queue.put_nowait(item)

    def close(self) -> None:
        """End of items; a second close (or a close after `fail`) is a no-op."""
        if not self._closed:
            self._closed = True
            self._queue.put_nowait(_END)

    def fail(self, error: BaseException) -> None:
        """End with `error`: the consumer gets every item put before it, then the error."""
        if not self._closed:
            self._queue.put_nowait(error)
            self.close()

    def __aiter__(self) -> Channel[T]:
        return self

    async def __anext__(self) -> T:
        if self._over:
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is _END:
            self._over = True
            raise StopAsyncIteration
        if isinstance(item, BaseException):
            self._over = True
            raise item
        return item  # type: ignore[return-value]  # only put() adds anything else
