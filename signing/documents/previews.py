"""Page previews and page sizes, from poppler (``pdftoppm``, ``pdfinfo``) run as bounded child processes.

The PDF is an official's upload and is never trusted: each page is rendered by its own ``pdftoppm`` under
``prlimit`` (address space and CPU seconds from ``[documents]``) and a wall-clock timeout, so a crafted file
costs at most one child's limits and never the server process. Measured against pypdfium2 in process
(``bench/documents_bench.py``): pdfium is faster per page, poppler in a child is what bounds a hostile file;
a preview is rendered once per version and page and then served from the cache folder.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from signing.documents.errors import PreviewError

__all__ = ["PageSize", "PreviewRenderer", "page_sizes"]

_PAGE_SIZE = re.compile(rb"^Page\s+(\d+) size:\s+([\d.]+) x ([\d.]+) pts", re.M)
_PAGE_ROT = re.compile(rb"^Page\s+(\d+) rot:\s+(\d+)", re.M)


@dataclass(frozen=True)
class PageSize:
    """A page's size in PDF points as shown (rotation applied)."""

    width: float
    height: float


@dataclass(frozen=True)
class Limits:
    seconds: int
    memory_mb: int

    def command(self, argv: list[str]) -> list[str]:
        prlimit = shutil.which("prlimit")
        if prlimit is None:  # util-linux is in every Debian; without it only the wall-clock timeout bounds
            return argv
        return [prlimit, f"--as={self.memory_mb * 1024 * 1024}", f"--cpu={self.seconds}", "--", *argv]

    def run(self, argv: list[str]) -> bytes:
        try:
            done = subprocess.run(
                self.command(argv), capture_output=True, timeout=self.seconds * 2, check=False, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired:
            raise PreviewError("timeout", f"{argv[0]} took longer than {self.seconds * 2} s") from None
        if done.returncode != 0:
            raise PreviewError("failed", f"{argv[0]} ended with {done.returncode}")
        return done.stdout


def page_sizes(path: Path, pages: int, limits: Limits) -> list[PageSize]:
    """The size of every page (``pdfinfo -f 1 -l N``), rotation applied as a reader sees the page."""
    out = limits.run(["pdfinfo", "-f", "1", "-l", str(pages), str(path)])
    sizes = {int(n): (float(w), float(h)) for n, w, h in _PAGE_SIZE.findall(out)}
    rotations = {int(n): int(r) for n, r in _PAGE_ROT.findall(out)}
    result = []
    for number in range(1, pages + 1):
        w, h = sizes.get(number, (595.0, 842.0))
        if rotations.get(number, 0) % 180 == 90:
            w, h = h, w
        result.append(PageSize(w, h))
    return result


class PreviewRenderer:
    """Renders one page of a PDF to PNG (longest side ``pixels``) into a cache file, once."""

    def __init__(self, *, pixels: int, seconds: int, memory_mb: int) -> None:
        self.pixels = pixels
        self.limits = Limits(seconds, memory_mb)

    def render(self, pdf: Path, page: int, cache: Path) -> Path:
        """The cached PNG of ``page`` (1-based) of ``pdf``, rendered now if missing."""
        if cache.is_file():
            return cache
        cache.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache.parent, prefix=".render-") as work:
            stem = Path(work) / "page"
            argv = ["pdftoppm", "-png", "-f", str(page), "-l", str(page), "-singlefile"]
            self.limits.run([*argv, "-scale-to", str(self.pixels), str(pdf), str(stem)])
            produced = stem.with_suffix(".png")
            if not produced.is_file():
                raise PreviewError("no-page", f"page {page} produced no image")
            os.replace(produced, cache)  # atomic: a reader sees the whole PNG or none
        return cache
