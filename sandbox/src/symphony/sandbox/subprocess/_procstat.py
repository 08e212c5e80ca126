"""A worker's memory and CPU use, read from /proc (no psutil needed)."""

from __future__ import annotations

import os
from typing import Final

import msgspec

__all__ = ["ProcessUsage", "read_usage"]

_TICKS: Final = os.sysconf("SC_CLK_TCK")


class ProcessUsage(msgspec.Struct, frozen=True, kw_only=True):
    """Resident memory now and at its peak (bytes), and CPU seconds (user + system, all threads)."""

    rss_bytes: int = 0
    peak_rss_bytes: int = 0
    cpu_seconds: float = 0.0


def read_usage(pid: int) -> ProcessUsage:
    """Usage of ``pid``; zeros if it is gone (a dead worker uses nothing)."""
    rss = peak = 0
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("VmHWM:"):
                    peak = int(line.split()[1]) * 1024
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            # Fields after the command name (which may contain spaces) start after the last ')'.
            fields = handle.read().rpartition(")")[2].split()
        cpu = (int(fields[11]) + int(fields[12])) / _TICKS
    except (OSError, IndexError, ValueError):
        return ProcessUsage()
    return ProcessUsage(rss_bytes=rss, peak_rss_bytes=peak, cpu_seconds=max(cpu, _threads_cpu(pid)))


def _threads_cpu(pid: int) -> float:
    """CPU seconds of ``pid``'s live threads to the nanosecond (``schedstat``): a forked worker that
    has run a few calls has used less than the one clock tick ``stat`` counts in."""
    total = 0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/schedstat", encoding="ascii") as handle:
                total += int(handle.read().split()[0])
    except (OSError, IndexError, ValueError):
        return 0.0
    return total / 1e9
