"""``bench/realtime.py --gc-pauses``: put on PYTHONPATH of every process the bench starts,
this records each garbage collection that took over 3 ms: pid, program, generation,
start (``perf_counter``, CLOCK_MONOTONIC: comparable across processes) and duration, one
line each, to the file named by ``BENCH_GC_LOG``."""

import gc
import os
import sys
import time

_LOG = os.environ.get("BENCH_GC_LOG")
_started: list[float] = []


def _record(phase: str, info: dict) -> None:
    if phase == "start":
        _started[:] = [time.perf_counter()]
        return
    if not _started:
        return
    ms = (time.perf_counter() - _started[0]) * 1000
    if ms > 3 and _LOG:
        program = " ".join(os.path.basename(a) for a in sys.argv[:2])
        with open(_LOG, "a") as f:
            f.write(
                f"{os.getpid()}\t{program}\t{info['generation']}\t{_started[0]:.6f}\t{ms:.1f}\n"
            )


if _LOG:
    gc.callbacks.append(_record)
