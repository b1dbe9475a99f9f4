"""The load generator: run one operation from N concurrent tasks for a while; p50, p99 and the rate.

It knows nothing of OpenID: an operation is any coroutine function of the task's number that raises when
the operation failed. Latency is measured around each operation; the rate counts successful operations
over the measured window (after a warm-up that is not recorded).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

__all__ = ["LoadOptions", "Measurement", "percentile", "run_load"]

Operation = Callable[[int], Awaitable[object]]


@dataclass(frozen=True)
class LoadOptions:
    """How hard and how long to push one operation."""

    concurrency: int = 16
    """Tasks running the operation at once (each waits for its answer before the next: a closed loop)."""
    duration: float = 10.0
    """Seconds measured."""
    warmup: float = 2.0
    """Seconds run before measuring, not recorded (connections, caches, JIT of the peer)."""


@dataclass(frozen=True)
class Measurement:
    """What one run measured. Latencies are in milliseconds and count successful operations only."""

    name: str
    ok: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    first_error: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def rate(self) -> float:
        """Successful operations per second."""
        return self.ok / self.seconds if self.seconds > 0 else 0.0


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of values sorted ascending (``fraction`` 0.5 for p50, 0.99 for p99)."""
    if not sorted_values:
        return math.nan
    if not 0 < fraction <= 1:
        raise ValueError("fraction must be in (0, 1]")
    rank = math.ceil(fraction * len(sorted_values))
    return sorted_values[max(rank, 1) - 1]


def _describe(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    return f"{type(err).__name__}: {text}"[:300]


async def run_load(name: str, operation: Operation, options: LoadOptions) -> Measurement:
    """Run ``operation`` from ``options.concurrency`` tasks; measure after ``options.warmup`` seconds."""
    if options.concurrency < 1 or options.duration <= 0 or options.warmup < 0:
        raise ValueError("concurrency must be at least 1, duration positive and warm-up not negative")
    loop = asyncio.get_running_loop()
    start = loop.time()
    measure_from = start + options.warmup
    stop_at = measure_from + options.duration
    latencies: list[float] = []
    errors = 0
    first_error: str | None = None

    async def worker(index: int) -> None:
        nonlocal errors, first_error
        clock = time.perf_counter
        while True:
            began = loop.time()
            if began >= stop_at:
                return
            t0 = clock()
            try:
                await operation(index)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                if began >= measure_from:
                    errors += 1
                    if first_error is None:
                        first_error = _describe(err)
                # A failing operation must not turn into a busy loop that starves the others.
                await asyncio.sleep(0.01)
                continue
            elapsed = clock() - t0
            if began >= measure_from and loop.time() <= stop_at:
                latencies.append(elapsed)

    await asyncio.gather(*(worker(i) for i in range(options.concurrency)))
    latencies.sort()
    return Measurement(
        name=name,
        ok=len(latencies),
        errors=errors,
        seconds=options.duration,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        first_error=first_error,
    )
