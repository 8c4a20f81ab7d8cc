"""Benchmark: one dashboard recomputation of the web application at 10,000 patients on PostgreSQL.

Budget: at most 1 s for the complete view - the dashboard page with its curves of overall
survival and local recurrence, drawn inline as SVG in the same response - on this project's
2-core machine.

A SYNTHETIC registry of 10,000 patients (about 11,100 perfusions) is made with ``ilp synth``'s
generator in a new PostgreSQL database; the real application (``create_app``) answers through
Starlette's test client, logged in as an admin, so each request does everything a worker does:
session check, the centre-filtered registry query, the statistics, the curves and the template.
The response is checked to hold both curves (what the browser receives is complete: the style
sheet and script are static files it has cached). Nothing is cached between requests. The same
run times loading the registry frame alone (the floor of any recomputation) as the baseline.
Usage::

    python benchmarks/bench_dashboard.py [--patients 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time
import uuid

import sqlalchemy as sa

PG_ADMIN_URL = os.environ.get(
    "ILP_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TARGET_S = 1.0
PASSWORD = "benchmark password 1234"


def _pg_database(name: str, create: bool) -> str:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        if create:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _median(fn: object, repeat: int) -> float:
    times = []
    for round_ in range(repeat + 1):  # round 0 warms up
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        if round_:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    opts = parser.parse_args()

    from fastapi.testclient import TestClient

    from ilpkit.adapters.db.registry_frame import load_registry_frame
    from ilpkit.services.accounts import add_user
    from ilpkit.services.synthesize import synthesize
    from ilpkit.services.unit_of_work import UnitOfWork
    from ilpkit.web.app import create_app

    name = f"ilp_bench_dashboard_{uuid.uuid4().hex[:8]}"
    url = _pg_database(name, create=True)
    try:
        synthesize(opts.patients, 20261201, "benchmark", url=url)
        add_user(url, "bench", PASSWORD, "admin", [], "benchmark")
        with UnitOfWork(url, migrate=False) as uow:
            n_perfusions = len(load_registry_frame(uow.connection))

        def load_only() -> None:
            with UnitOfWork(url, migrate=False) as uow:
                load_registry_frame(uow.connection)

        with TestClient(create_app(url)) as client:
            form = client.get("/login").text
            token = re.search(r'name="csrf_token" value="([^"]+)"', form)
            assert token is not None
            login = {"username": "bench", "password": PASSWORD, "csrf_token": token.group(1)}
            assert client.post("/login", data=login, follow_redirects=False).status_code == 303

            sizes: dict[str, int] = {}

            def view(by: str) -> None:
                response = client.get("/dashboard", params={"by": by})
                assert response.status_code == 200, response.text[:500]
                assert response.text.count('<svg class="chart curves"') == 2, "curves missing"
                sizes[by] = len(response.content)

            rows = []
            for by in ("", "tumor_size_group"):
                rows.append((by or "none", _median(lambda by=by: view(by), opts.repeat), sizes[by]))
            baseline = _median(load_only, opts.repeat)
    finally:
        _pg_database(name, create=False)

    print(
        f"{opts.patients:,} patients, {n_perfusions:,} perfusions, PostgreSQL; "
        f"median of {opts.repeat} after a warm-up\n"
    )
    print("| compare by | complete view (page with both curves), s | response size, kB |")
    print("|---|---:|---:|")
    for by, seconds, size in rows:
        print(f"| {by} | {seconds:.2f} | {size / 1000:.0f} |")
    print(f"\nbaseline, loading the registry frame alone: {baseline:.2f} s")
    worst = max(r[1] for r in rows)
    verdict = "within" if worst <= TARGET_S else "OVER"
    print(f"slowest complete view {worst:.2f} s: {verdict} the {TARGET_S:.0f} s budget")


if __name__ == "__main__":
    main()
