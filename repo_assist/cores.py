"""How many cores other work leaves free, measured rather than averaged.

The embedder and the in-process model both size their thread pools by it:
threads that wait at a barrier for a core another process holds stall the
whole computation, and threads left unused on an idle machine halve it.
"""

from __future__ import annotations

import os
import time


def idle_cores(sample: float = 0.1) -> int:
    """Cores no other work is using, at least one.

    BLAS and OpenMP threads wait for each other; when one waits for a core
    another process holds, the whole product stalls. Measured on 2 cores
    with other work running: warm search p95 1.9 s with two BLAS threads,
    0.17 s with one; a one-file re-index embedded in 19.7 s, then 6.1 s.

    Measured, not averaged: the system's busy time over ``sample`` seconds
    while this process sleeps (``/proc/stat``), so this process's own work
    just before (discovering and parsing a repository keeps a core busy for
    a minute) does not count as another's — the 1-minute load average did,
    and a from-scratch index ran on one of two idle cores. Where there is no
    ``/proc/stat``, the load average stands in.
    """
    n = os.cpu_count() or 1
    before = _cpu_times()
    if before is not None:
        time.sleep(sample)
        after = _cpu_times()
        if after is not None and after[0] > before[0]:
            busy = n * (1.0 - (after[1] - before[1]) / (after[0] - before[0]))
            return max(1, min(n, int(n - busy + 0.5)))
    try:
        busy = os.getloadavg()[0]
    except OSError:  # pragma: no cover - no load average on this platform
        return n
    return max(1, min(n, int(n - busy + 0.5)))


def _cpu_times() -> tuple[int, int] | None:
    """(all, idle + iowait) jiffies since boot, from /proc/stat; None where it cannot be read."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = fh.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu" or len(fields) < 6:
        return None
    ticks = [int(x) for x in fields[1:9]]  # user nice system idle iowait irq softirq steal
    return sum(ticks), ticks[3] + ticks[4]
