"""Everything loadprofile prints while running goes through ``Console``.

It takes its streams, so tests render into StringIO. On a terminal the progress line
rewrites itself; in a log (nightly jobs: stdout not a TTY) it prints a plain line every
``plain_every_s`` seconds instead.
"""

from __future__ import annotations

import sys
from typing import TextIO

from loadprofile.config.run_config import LoadConfig
from loadprofile.contract.summary import Summary

#: The end summary explains stop timeouts once they are at least this share of the requests.
STOP_TIMEOUT_NOTABLE_SHARE = 0.01


def stop_timeout_note(unfinished: int, requests: int, load: LoadConfig) -> str | None:
    """Why a run shows timeouts it never waited ``--timeout`` for: requests still running
    when ``--stop-timeout`` ran out are recorded as timeouts, and on a server slower than
    the load, they can be most of the errors. None when they are not a notable share."""
    if unfinished <= 0 or unfinished < STOP_TIMEOUT_NOTABLE_SHARE * requests:
        return None
    lever = "--rate" if load.open_loop else "-u" if load.shape == "steady" else "the users"
    return (
        f"{unfinished:,} of {requests:,} requests were still running at the stop "
        f"({load.stop_timeout_s:g}s after the run time) and count as timeout errors: "
        f"raise --stop-timeout or lower {lever}"
    )


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


class Console:
    def __init__(
        self,
        out: TextIO | None = None,
        err: TextIO | None = None,
        tty: bool | None = None,
        plain_every_s: float = 10.0,
    ) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.tty = self.out.isatty() if tty is None else tty
        self.plain_every_s = plain_every_s
        self._last_plain = -1e9
        self._live = False

    def info(self, text: str) -> None:
        self._end_live()
        print(text, file=self.out, flush=True)

    def warn(self, text: str) -> None:
        self._end_live()
        print(f"warning: {text}", file=self.err, flush=True)

    def error(self, text: str) -> None:
        self._end_live()
        print(f"loadprofile: error: {text}", file=self.err, flush=True)

    def progress_due(self, elapsed_s: float) -> bool:
        """Whether ``progress`` would print now: its figures cost a merge of histograms on the
        event loop that times every stream, so callers compute them only when due."""
        return self.tty or elapsed_s - self._last_plain >= self.plain_every_s

    def progress(
        self,
        elapsed_s: float,
        total_s: float,
        users: int,
        rps: float,
        p99_ttft: dict[str, float | None],
    ) -> None:
        models = "  ".join(f"{m} p99 TTFT {_ms(v)} ms" for m, v in p99_ttft.items())
        line = f"[{elapsed_s:5.0f}s/{total_s:.0f}s] users {users:4d}  {rps:7.1f} req/s  {models}"
        if self.tty:
            self.out.write("\r\x1b[2K" + line)
            self.out.flush()
            self._live = True
        elif self.progress_due(elapsed_s):
            self._last_plain = elapsed_s
            print(line, file=self.out, flush=True)

    def _end_live(self) -> None:
        if self._live:
            self.out.write("\n")
            self._live = False

    def summary_table(self, summary: Summary) -> None:
        """Per-model figures, the ones a glance needs; the report has the rest."""
        header = (
            f"{'model':<24}{'requests':>9}{'errors':>8}{'TTFT p50':>10}{'p99':>8}"
            f"{'ITL p50':>9}{'p99':>8}{'E2E p50':>9}{'p99':>8}{'tok/s':>9}"
        )
        rows = [header, "-" * len(header)]
        for name, m in summary.models.items():
            rows.append(
                f"{name[:23]:<24}{m.requests:>9}{m.error_rate * 100:>7.1f}%"
                f"{_ms(m.ttft_ms.p50):>10}{_ms(m.ttft_ms.p99):>8}"
                f"{_ms(m.itl_ms.p50):>9}{_ms(m.itl_ms.p99):>8}"
                f"{_ms(m.e2e_ms.p50):>9}{_ms(m.e2e_ms.p99):>8}"
                f"{m.output_tokens_per_s:>9.1f}"
            )
            if m.errors:
                detail = ", ".join(f"{k} {v}" for k, v in m.errors.items())
                rows.append(f"{'':<24}errors: {detail}")
        self.info("\n".join(rows))
