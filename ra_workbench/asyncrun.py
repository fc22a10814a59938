"""Run a coroutine to completion from synchronous code, whatever the calling thread is doing.

pyHanko and pyhanko-certvalidator work asynchronously. `asyncio.run` refuses to start in a
thread that already runs an event loop (a Playwright session in the test suite, an
asynchronous server or worker in production), and pyHanko's synchronous wrappers call it
as they are. The coroutine then runs on a short-lived thread of its own, with its own loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(coroutine: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """The result of `coroutine()` (created where it runs), or the exception it raised."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine())
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ra-async") as pool:
        return pool.submit(lambda: asyncio.run(coroutine())).result()
