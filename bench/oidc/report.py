"""The table: Ấn Tín's p50, p99 and rate beside the peer's, the ratios, and Keycloak's published sizing."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bench.oidc.runner import ROWS, RowResult

__all__ = ["KEYCLOAK_PER_VCPU", "Side", "render_table"]

# Keycloak's published sizing guide: per vCPU, 120 client-credentials grants/s and 15 password logins/s.
KEYCLOAK_PER_VCPU = {"client_credentials": 120.0, "login": 15.0}


@dataclass(frozen=True)
class Side:
    name: str
    version: str
    results: Sequence[RowResult]
    notes: Sequence[str] = ()

    def row(self, row: str) -> RowResult | None:
        return next((r for r in self.results if r.row == row), None)


def _num(value: float | None, digits: int = 1) -> str:
    if value is None or math.isnan(value):
        return "–"
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _cells(result: RowResult | None) -> list[str]:
    if result is None or result.measurement is None:
        return ["n/a", "", "", "", ""]
    m = result.measurement
    errors = f" ({m.errors} err)" if m.errors else ""
    return [
        _num(m.p50_ms),
        _num(m.p99_ms),
        _num(m.rate, 0) + errors,
        _num(result.server_cpu_ms if m.ok else None, 2),
        _num(result.driver_cpu * 100 if result.driver_cpu is not None else None, 0),
    ]


def _ratio(ours: RowResult | None, theirs: RowResult | None) -> tuple[str, str]:
    if not ours or not theirs or not ours.measurement or not theirs.measurement:
        return "–", "–"
    a, b = ours.measurement, theirs.measurement
    rate = f"{a.rate / b.rate:.2f}×" if b.rate > 0 and a.ok else "–"
    p50 = f"{a.p50_ms / b.p50_ms:.2f}×" if b.p50_ms > 0 and a.ok and b.ok else "–"
    return rate, p50


def render_table(ours: Side, peer: Side, *, cores: int, rows: Sequence[str]) -> str:
    """A fixed-width table; n/a rows are explained below it."""
    head = ["row", "p50 ms", "p99 ms", "rate/s", "cpu ms/op", "drv %"]
    widths = [20, 8, 8, 14, 9, 5]
    sub = ["p50 ms", "p99 ms", "rate/s", "cpu ms/op", "drv %"]

    def fmt(cells: list[str], ws: list[int]) -> str:
        return "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, ws, strict=True)))

    block = sum(widths[1:]) + 2 * (len(widths) - 2)
    lines = [
        " " * widths[0] + "  " + ours.name.center(block) + "  " + peer.name.center(block) + "  ratio Ấn Tín/peer",
        fmt(head[:1] + sub + sub + ["rate", "p50"], [widths[0], *widths[1:], *widths[1:], 7, 7]),
    ]
    lines.append("-" * len(lines[1]))
    for row in rows:
        a, b = ours.row(row), peer.row(row)
        rate, p50 = _ratio(a, b)
        lines.append(fmt([row, *_cells(a), *_cells(b), rate, p50], [widths[0], *widths[1:], *widths[1:], 7, 7]))
    lines.append("")
    lines.append(f"Keycloak's published sizing scaled to this machine's {cores} cores (reference, not measured here):")
    for row, per in KEYCLOAK_PER_VCPU.items():
        ref = per * cores
        measured = [
            f"{s.name} {r.measurement.rate / ref:.1f}× of it"
            for s in (ours, peer)
            if (r := s.row(row)) is not None and r.measurement is not None and r.measurement.ok
        ]
        lines.append(f"  {row:<20} {ref:>6,.0f}/s ({per:g}/s per vCPU)   " + ("; ".join(measured) or ""))
    lines.append("")
    lines.append("Columns: p50/p99 latency of one operation (a login flow: 3 HTTP requests on Ấn Tín, 5–6 on the")
    lines.append("peer); rate = successful operations/s over the measured window; cpu ms/op = CPU of all the")
    lines.append("provider's processes per operation (slapd's bind cost is not in it); drv % = the driver's use of")
    lines.append("one core.")
    lines.append("Ratios: rate Ấn Tín ÷ peer (above 1: Ấn Tín serves more); p50 Ấn Tín ÷ peer (below 1: Ấn Tín answers")
    lines.append("sooner).")
    for side in (ours, peer):
        reasons: dict[str, list[str]] = {}
        for result in side.results:
            if result.measurement is None and result.reason:
                reasons.setdefault(result.reason, []).append(result.row)
        for reason, rows_ in reasons.items():
            lines.append(f"n/a {side.name} {', '.join(rows_)}: {reason}")
        for result in side.results:
            if result.detail:
                lines.append(f"{side.name} {result.row}: {result.detail}")
            if result.slapd_cpu_ms is not None and result.row == "login" and result.measurement is not None:
                lines.append(f"{side.name} login: slapd CPU {result.slapd_cpu_ms:.2f} ms per login (the bind)")
        weighed = [r for r in side.results if r.rss_mb is not None and r.pss_mb is not None]
        if weighed:
            per_row = ", ".join(f"{r.row} {r.rss_mb:.0f}/{r.pss_mb:.0f}" for r in weighed)
            lines.append(f"{side.name} memory after each row, RSS/PSS MB of all its processes: {per_row}")
        stored = [r for r in side.results if r.stores_cpu_ms is not None and r.measurement is not None]
        if stored:
            per_row = ", ".join(f"{r.row} {r.stores_cpu_ms:.3f}" for r in stored)
            lines.append(f"{side.name} its stores' CPU per operation, ms (database server, backends, Redis): {per_row}")
            machine = [
                f"{r.row} {(r.server_cpu_ms or 0) + (r.stores_cpu_ms or 0) + (r.slapd_cpu_ms or 0):.3f}" for r in stored
            ]
            lines.append(
                f"{side.name} CPU per operation on the whole machine but the driver, ms (processes + stores + slapd): "
                + ", ".join(machine)
            )
        counted = [r for r in side.results if r.sql_per_op is not None and r.measurement is not None]
        if counted:
            per_row = ", ".join(f"{r.row} {r.sql_per_op:.1f}" for r in counted)
            lines.append(f"{side.name} SQL statements per operation (pg_stat_statements, BEGIN/COMMIT in): {per_row}")
        lines.extend(side.notes)
    return "\n".join(lines)


def describe_rows() -> str:
    return "\n".join(f"  {k:<20} {v}" for k, v in ROWS.items())
