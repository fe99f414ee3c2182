"""Start-up time of the catalogue commands, as a ratio to ``python -c pass`` measured in the same run.

Goal (issue: foundation): ``hub datasets --json``, ``hub models --json`` and ``hub plugins --json``
each under 0.3 s wall time, without importing torch.

The commands run with Python's bytecode cache on, as after any ``pip install`` (a ``PYTHONDONTWRITEBYTECODE``
in the environment is dropped for them; the warm-up run writes the cache), so the time is start-up, not
compiling medhub's sources.

    python benchmarks/startup.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "hub datasets --json": [sys.executable, "-m", "medhub", "datasets", "--json"],
    "hub models --json": [sys.executable, "-m", "medhub", "models", "--json"],
    "hub plugins --json": [sys.executable, "-m", "medhub", "plugins", "--json"],
}


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def best_of(cmd: list[str], repeat: int) -> float:
    """Median wall time of ``repeat`` runs (one warm-up run first)."""
    subprocess.run(cmd, capture_output=True, check=True, env=ENV)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True, env=ENV)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    base = best_of(COMMANDS["python -c pass"], args.repeat)
    print(f"{'command':<24} {'median s':>9} {'ratio':>7}  goal < 0.300 s")
    ok = True
    for name, cmd in COMMANDS.items():
        t = best_of(cmd, args.repeat)
        passed = name == "python -c pass" or t < 0.3
        ok &= passed
        print(f"{name:<24} {t:9.3f} {t / base:7.2f}  {'ok' if passed else 'SLOW'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
