"""Measure the rows against one deployment; record server, slapd and driver CPU beside the timings.

CPU seconds per operation (from /proc, for the provider's processes and slapd) say what an operation costs
whatever else the machine is doing; the rates say what the machine delivered while the bench ran.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

from bench.oidc.flows import OidcFlows
from bench.oidc.http import HttpClient
from bench.oidc.measure import LoadOptions, Measurement, run_load
from bench.oidc.processes import connections_per_process, cpu_seconds, memory_mb, run_seconds
from bench.oidc.profile import Hotspots, PySpy
from bench.oidc.provider import Deployment

__all__ = ["ROWS", "DeploymentBench", "RowResult"]

ROWS: dict[str, str] = {
    "discovery": "discovery (GET /.well-known/openid-configuration)",
    "jwks": "JWKS (GET jwks_uri)",
    "client_credentials": "client_credentials grants",
    "introspection": "introspection (RFC 7662) of a user's access token",
    "refresh": "refresh grants, rotating (each uses the newest token)",
    "login": "login flows: authorize → form → bind → code → token + ID token check",
}


@dataclass(frozen=True)
class RowResult:
    row: str
    measurement: Measurement | None
    reason: str | None = None
    """Why the row was not measured."""
    server_cpu_ms: float | None = None
    """Provider CPU (all its workers) per successful operation, in ms."""
    slapd_cpu_ms: float | None = None
    driver_cpu: float | None = None
    """Share of one core the driver used while measuring (near 1.0 means the driver was the limit)."""
    detail: str | None = None
    """What preparing the row found out (the kind of access token client_credentials gives)."""
    hotspots: Hotspots | None = None
    """py-spy's summary of the provider's workers during the row (``--profile``)."""
    sql_per_op: float | None = None
    """SQL statements the provider's database ran per successful operation (BEGIN and COMMIT included)."""
    rss_mb: float | None = None
    """Resident memory of all the provider's processes right after the row (RSS summed, shared pages in each)."""
    pss_mb: float | None = None
    """The same as PSS (shared pages split between the processes)."""
    worker_cpu_ms: tuple[float, ...] | None = None
    """Each server process' CPU per successful operation, in ms (how the row's work fell between the workers)."""
    worker_connections: tuple[int, ...] | None = None
    """The driver's connections each server process held at the row's end (its kept connections, by worker)."""
    stores_cpu_ms: float | None = None
    """CPU of the provider's stores (its database's server and backends, Redis) per successful operation, in ms:
    with ``server_cpu_ms`` and ``slapd_cpu_ms``, what one operation costs the machine."""


class DeploymentBench:
    """The rows of one deployment, measured one at a time (``async with``, then :meth:`measure` per row)."""

    def __init__(
        self,
        deployment: Deployment,
        options: LoadOptions,
        *,
        slapd_pids: Sequence[int] = (),
        profile_dir: Path | None = None,
        profile_gil: bool = False,
        log: Callable[[str], None] = print,
    ) -> None:
        self.profiler = (
            PySpy(profile_dir / deployment.target.local_origin.rsplit(":", 1)[-1], gil=profile_gil)
            if (profile_dir is not None and deployment.python)
            else None
        )
        self.deployment = deployment
        self.options = options
        self.slapd_pids = tuple(slapd_pids)
        self.log = log
        self._stack = AsyncExitStack()
        self._unavailable: str | None = None
        self.flows: OidcFlows | None = None

    async def __aenter__(self) -> DeploymentBench:
        connections = max(64, self.options.concurrency * 2)
        http = await self._stack.enter_async_context(HttpClient(self.deployment.target, connections=connections))
        self.flows = OidcFlows(http, self.deployment)
        try:
            await self.flows.prepare()
        except Exception as err:
            self._unavailable = f"discovery/JWKS unavailable: {err}"[:400]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    def _operations(
        self, flows: OidcFlows
    ) -> dict[str, tuple[Callable[[], Awaitable[object]] | None, Callable[[int], Awaitable[object]]]]:
        return {
            "discovery": (None, flows.discovery),
            "jwks": (None, flows.jwks_fetch),
            "client_credentials": (flows.describe_service_token, flows.client_credentials),
            "introspection": (flows.prepare_introspection, flows.introspect),
            "refresh": (lambda: flows.prepare_refresh(self.options.concurrency), flows.refresh),
            "login": (None, flows.login),
        }

    def _not_set_up(self, row: str) -> str | None:
        d = self.deployment
        if row in ("client_credentials", "introspection") and d.service_client is None:
            return "; ".join(d.missing) or "no service client"
        if row in ("introspection", "refresh", "login") and d.web_client is None:
            return "; ".join(d.missing) or "no web client"
        return None

    async def measure(self, row: str) -> RowResult:
        name = self.deployment.name
        if self._unavailable or self.flows is None:
            return RowResult(row, None, self._unavailable or "not opened")
        missing = self._not_set_up(row)
        if missing:
            return RowResult(row, None, missing)
        prepare, operation = self._operations(self.flows)[row]
        detail: str | None = None
        try:
            if prepare is not None:
                prepared = await prepare()
                detail = prepared if isinstance(prepared, str) else None
        except Exception as err:
            self.log(f"  {name}: {row}: not measured ({err})")
            return RowResult(row, None, f"could not prepare: {type(err).__name__}: {err}"[:400])
        pids, options = self.deployment.pids, self.options
        count_sql = self.deployment.sql_statements
        sql_before = count_sql() if count_sql is not None else None
        server_before, slapd_before = cpu_seconds(pids), cpu_seconds(self.slapd_pids)
        store_pids = self.deployment.store_pids
        stores_before = run_seconds(store_pids()) if store_pids is not None else {}
        each_before = [cpu_seconds([pid]) for pid in pids]
        driver_before, wall_before = time.process_time(), time.perf_counter()
        if self.profiler is not None:
            self.profiler.start(row, pids, options.warmup + options.duration)
        measurement = await run_load(row, operation, options)
        wall = time.perf_counter() - wall_before
        hotspots = self.profiler.finish(row) if self.profiler is not None else None
        # CPU is read over warm-up + measured window: scale it to the measured window.
        window = options.duration / wall if wall > 0 else 0.0
        ops = measurement.ok or 1
        server = (cpu_seconds(pids) - server_before) * window
        each = tuple(
            round(1000 * (cpu_seconds([p]) - b) * window / ops, 3) for p, b in zip(pids, each_before, strict=True)
        )
        port = int(self.deployment.target.local_origin.rsplit(":", 1)[1])
        held = connections_per_process(pids, port) if pids else None
        slapd = (cpu_seconds(self.slapd_pids) - slapd_before) * window
        # a backend started during the row counts from nothing; one that ended took its time with it (not counted)
        stores_after = run_seconds(store_pids()) if store_pids is not None else {}
        stores = sum(after - stores_before.get(pid, 0.0) for pid, after in stores_after.items()) * window
        sql_after = count_sql() if count_sql is not None else None
        memory = memory_mb(pids) if pids else None
        # like CPU, counted over warm-up + window and scaled; the counting query itself is the 1 taken off
        sql = (sql_after - sql_before - 1) * window if sql_before is not None and sql_after is not None else None
        self.log(
            f"  {name}: {row}: {measurement.rate:,.0f}/s p50 {measurement.p50_ms:.1f} ms "
            f"p99 {measurement.p99_ms:.1f} ms ({measurement.errors} errors"
            f"{': ' + measurement.first_error if measurement.first_error else ''})"
            f"{f'; connections by worker {list(held)}, CPU ms/op by worker {list(each)}' if held else ''}"
        )
        return RowResult(
            row,
            measurement,
            server_cpu_ms=1000 * server / ops if pids else None,
            slapd_cpu_ms=1000 * slapd / ops if self.slapd_pids else None,
            driver_cpu=(time.process_time() - driver_before) / wall if wall > 0 else None,
            detail=detail,
            hotspots=hotspots,
            sql_per_op=sql / ops if sql is not None else None,
            rss_mb=memory[0] if memory else None,
            pss_mb=memory[1] if memory else None,
            worker_cpu_ms=each if pids else None,
            worker_connections=held,
            stores_cpu_ms=1000 * stores / ops if store_pids is not None else None,
        )
