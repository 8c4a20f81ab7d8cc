"""Benchmark: ``ilp leakage`` and the registry header check on very large inputs.

Targets: ``ilp leakage`` with 200,000 readings in a few seconds (the time must grow linearly
with the number of readings), and a registry file whose header has 1,000,000 columns refused in
under a second. Usage::

    python benchmarks/bench_leakage.py [N_READINGS ...]

Prints, per size, the time to parse the readings, to run them through the leakage monitor, and
the whole ``ilp leakage`` process (start-up included, table printed to a file); then the time
``parse_registry_csv`` takes to refuse the 1,000,000-column header.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ilpkit.adapters.csv.registry_csv import parse_registry_csv
from ilpkit.adapters.protocol_file import load_protocol_book
from ilpkit.domain.errors import RegistryValidationError
from ilpkit.planning.leakage import calibrate, monitor_readings
from ilpkit.planning.readings import parse_readings_bytes

DEFAULT_SIZES = (25_000, 50_000, 100_000, 200_000)
CAL = ["--isotope", "tc99m", "--background", "100", "--calibration", "1100"]


def _ilp() -> str:
    candidate = Path(sys.executable).parent / "ilp"
    return str(candidate) if candidate.exists() else (shutil.which("ilp") or "ilp")


def readings_csv(n: int) -> bytes:
    """``n`` readings, one every 0.01 min, counts cycling 150-156 cps."""
    lines = "".join(f"{i / 100:.2f},{150 + i % 7}\n" for i in range(n))
    return ("minute,counts_per_s\n" + lines).encode()


def bench_readings(n: int, folder: Path) -> tuple[float, float, float]:
    data = readings_csv(n)
    settings = load_protocol_book(None).leakage
    cal = calibrate(settings.isotope("tc99m"), 100.0, 1100.0, 0.10)
    started = time.perf_counter()
    rows = parse_readings_bytes(data)
    parsed = time.perf_counter()
    monitor_readings(((r.minute, r.counts_per_s) for r in rows), cal, settings)
    monitored = time.perf_counter()
    path = folder / f"readings-{n}.csv"
    path.write_bytes(data)
    with (folder / "out.txt").open("w") as out:
        subprocess.run([_ilp(), "leakage", str(path), *CAL], stdout=out, check=True)
    whole = time.perf_counter() - monitored
    return parsed - started, monitored - parsed, whole


def bench_wide_header(columns: int = 1_000_000) -> float:
    data = (",".join(f"c{i}" for i in range(columns)) + "\n").encode()
    started = time.perf_counter()
    with contextlib.suppress(RegistryValidationError):
        parse_registry_csv(data)
    return time.perf_counter() - started


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or list(DEFAULT_SIZES)
    print("| readings | parse s | monitor s | ilp leakage (process) s |")
    print("| ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            parse_s, monitor_s, whole_s = bench_readings(n, Path(tmp))
            print(f"| {n:,} | {parse_s:.2f} | {monitor_s:.2f} | {whole_s:.2f} |")
    print(f"\n1,000,000-column registry header refused in {bench_wide_header():.2f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
