#!/usr/bin/env python3
"""Runs a command N times and prints, per run, the wall time (ms) and the peak RSS (KiB) of that process.

Each run is waited for with os.wait4, which returns the child's own resource usage, so the peak RSS is
exact (the kernel's ru_maxrss) and belongs to that run alone. Output: one JSON object on stdout.
Usage: measure.py RUNS WARMUP -- command args...
"""
import json
import os
import subprocess
import sys
import time

runs, warmup = int(sys.argv[1]), int(sys.argv[2])
command = sys.argv[sys.argv.index("--") + 1:]
samples = []
for i in range(warmup + runs):
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = (time.perf_counter() - start) * 1000
    child.returncode = os.waitstatus_to_exitcode(status)
    if i >= warmup:
        samples.append({"ms": elapsed, "rss_kib": usage.ru_maxrss, "code": child.returncode})
print(json.dumps(samples))
