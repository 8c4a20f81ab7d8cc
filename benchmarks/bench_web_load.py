"""Benchmark: the web application under load - 20 users on 10,000 patients, PostgreSQL, 2 workers.

Builds a PostgreSQL registry of 10,000 SYNTHETIC patients (``synthesize`` into a new database on
the local server; ``--reuse`` keeps it from an earlier run), spread over four synthetic centres,
adds one account per simulated user, starts ``ilp serve --workers 2`` on a loopback port, and
lets 20 simulated users log in and browse at the same time: patient list pages, searches,
patient pages, and the JSON API's list and detail. Routes that exist only in some versions of
the application are used when the running application has them: record edits (a ``PATCH`` of
``/api/v1/patients/{patient_id}`` in its OpenAPI document) and the dashboard (``/dashboard``, or
a dashboard route of the API; a dashboard view is the page, with a random subgroup variable of
its form, then each figure it links to). Each user waits a random think time between requests
(uniform 0.5 to 1.5 times ``--think-ms``; 0 for a stress test). The users log in one after
another over the first ``--ramp-s`` seconds (argon2 makes a login deliberately costly, so logins
are staggered as in a working day); when all are logged in they browse for ``--duration``
seconds, or until ``--max-requests`` requests.

Every request's latency (client side: send to last byte) is recorded by class; the report gives
p50, p95 and max, the errors (any status >= 400, and transport errors) and, for edits, the
409 answers to a stale record version separately (expected when two users edit one record).
Targets: p95 <= 200 ms for pages and API calls, <= 1 s for a dashboard; no errors apart from
expected 409s. The table is printed and the figures are written as JSON (``--out``).

Usage::

    python benchmarks/bench_web_load.py [--patients 10000] [--users 20] [--duration 60]
        [--max-requests 20000] [--think-ms 500] [--workers 2] [--reuse] [--out FILE]
        [--baseline-src OTHER_CHECKOUT/src]

``--baseline-src`` first runs the same load against the application from another source tree
(for example an earlier commit: ``git archive COMMIT src | tar -x -C /tmp/before``, then
``--baseline-src /tmp/before/src``), as a same-run baseline.

All data are SYNTHETIC. The client runs on the same machine as the server and the database, so
the latencies include the client's own share of the CPU.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
PASSWORD = "synthetic load benchmark"
"""Password of every benchmark account (SYNTHETIC registry, loopback only)."""
KEY = "synthetic load benchmark pseudonym key"
"""$ILP_PSEUDONYM_KEY of the benchmark server, for the statisticians."""
CENTRES = ("SYN-A", "SYN-B", "SYN-C", "SYN-D")
ROLE_MIX = ("data_manager", "clinician", "data_manager", "clinician", "monitor") * 3 + (
    "statistician",
    "statistician",
    "statistician",
    "admin",
    "admin",
)
"""Roles of the first 20 users (then repeated): clinical and data staff, some read-only."""
TARGET_S = {"page": 0.200, "api": 0.200, "edit": 0.200, "dashboard": 1.0, "login": None}
"""p95 target per kind of request class (login: none, argon2 is deliberately slow)."""
KINDS = {
    "login (web form)": "login",
    "login (API token)": "login",
    "page: patient list": "page",
    "page: search": "page",
    "page: patient": "page",
    "api: patient list": "api",
    "api: patient detail": "api",
    "api: edit (PATCH)": "edit",
    "dashboard": "dashboard",
    "dashboard figure": "dashboard",
}
DASHBOARD_SHARE = 0.02
"""Share of a user's actions that open the dashboard (then its figures load), set by
``--dashboard-share``: every view recomputes the statistics of all the user's patients, so it
costs as much as dozens of page views."""
PSEUDONYMISED = " (statistician)"
"""Suffix of the classes of statisticians' requests, which see keyed pseudonyms (own code path)."""
OUT = Path(__file__).parent / "out" / "web_load.json"


# --- the registry ---------------------------------------------------------------------------


def _database_exists(name: str) -> bool:
    admin = sa.create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            found = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
        return found is not None
    finally:
        admin.dispose()


def build_registry(name: str, n_patients: int, reuse: bool) -> str:
    """URL of the benchmark registry, made anew unless ``reuse`` finds it."""
    from ilpkit.services.synthesize import synthesize
    from ilpkit.synthetic import DEFAULT_SEED

    url = f"{SERVER}/{name}"
    if reuse and _database_exists(name):
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            n = conn.execute(sa.text("SELECT count(*) FROM patients")).scalar_one()
        engine.dispose()
        if n == n_patients:
            print(f"Reusing database {name} ({n:,} SYNTHETIC patients).")
            return url
        print(f"Database {name} holds {n:,} patients, not {n_patients:,}: building it again.")
    admin = sa.create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    start = time.perf_counter()
    made = synthesize(n_patients, DEFAULT_SEED, "bench_web_load", url=url)
    # four synthetic centres, so that every non-admin query is filtered by centre
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        cases = " ".join(f"WHEN {i} THEN '{c}'" for i, c in enumerate(CENTRES))
        conn.execute(sa.text(f"UPDATE patients SET center = CASE id % 4 {cases} END"))
        conn.execute(sa.text("ANALYZE"))
    engine.dispose()
    print(
        f"Built database {name}: {made.n_patients:,} SYNTHETIC patients, "
        f"{made.n_perfusions:,} perfusions, centres {', '.join(CENTRES)} "
        f"({time.perf_counter() - start:.1f} s)."
    )
    return url


@dataclass(frozen=True)
class User:
    name: str
    role: str
    centres: tuple[str, ...]


def add_accounts(url: str, n_users: int) -> list[User]:
    """One account per simulated user (kept when it exists already)."""
    from ilpkit.services.accounts import add_user, list_users, reset_password

    existing = {a.username for a in list_users(url)}
    out = []
    for i in range(n_users):
        role = ROLE_MIX[i % len(ROLE_MIX)]
        centres = () if role == "admin" else (CENTRES[i % 4], CENTRES[(i + 1) % 4])[: 1 + i % 2]
        name = f"bench-{i:02d}-{role}"
        if name in existing:
            reset_password(url, name, PASSWORD, "bench_web_load")  # also lifts any lock-out
        else:
            add_user(url, name, PASSWORD, role, centres, "bench_web_load")
        out.append(User(name, role, centres))
    return out


# --- the server ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    url: str, workers: int, log: Path, source: Path | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """``ilp serve`` on a free loopback port; from the source tree ``source`` when given."""
    port = _free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "ILP_PSEUDONYM_KEY": KEY}
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(source), env.get("PYTHONPATH", "")]).rstrip(":")
    code = "from ilpkit.cli.main import run; run()"
    command = [sys.executable, "-c", code, "serve", "--db", url, "--port", str(port)]
    proc = subprocess.Popen(
        [*command, "--workers", str(workers)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{base}/login", timeout=2)
            return proc, base
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise SystemExit("the server did not start:\n" + log.read_text()) from None
            time.sleep(0.3)


# --- the simulated users ------------------------------------------------------------------


@dataclass
class Recorder:
    """Latencies and outcomes by request class (thread-safe)."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    expected_409: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, cls: str, seconds: float, status: int, detail: str = "") -> None:
        with self.lock:
            self.latencies.setdefault(cls, []).append(seconds)
            if status == 409 and cls == "api: edit (PATCH)":
                self.expected_409[cls] = self.expected_409.get(cls, 0) + 1
            elif status == 0 or status >= 400:
                self.errors[cls] = self.errors.get(cls, 0) + 1
                if len(self.examples) < 20:
                    self.examples.append(f"{cls}: {status} {detail[:200]}")


class Budget:
    """At most ``n`` requests in all, for ``duration_s`` seconds from :meth:`start`; the
    browsing starts when every user has logged in (a barrier), so that the browsing figures
    are those of the steady state, not of the login ramp."""

    def __init__(self, n: int, duration_s: float, n_users: int) -> None:
        self.left = n
        self.duration_s = duration_s
        self.deadline = float("inf")
        self.lock = threading.Lock()
        self.started_at = 0.0
        self.all_logged_in = threading.Barrier(n_users, action=self.start)

    def start(self) -> None:
        self.started_at = time.monotonic()
        self.deadline = self.started_at + self.duration_s

    def take(self) -> bool:
        with self.lock:
            if self.left <= 0 or time.monotonic() >= self.deadline:
                return False
            self.left -= 1
            return True


@dataclass(frozen=True)
class Features:
    """Optional routes found in the running application."""

    edit_path: str | None
    edit_fields: tuple[str, ...]
    dashboard_paths: tuple[str, ...]


def detect_features(base: str, user: User) -> Features:
    """Which optional routes the running application has (from its OpenAPI document, and a
    probe of the dashboard page with a logged-in session)."""
    spec = httpx.get(f"{base}/api/v1/openapi.json", timeout=10).json()
    paths: dict[str, Any] = spec.get("paths", {})
    edit_path = None
    edit_fields: tuple[str, ...] = ()
    for path, ops in paths.items():
        if path.startswith("/api/v1/patients/{") and "patch" in ops:
            edit_path = path
            body = ops["patch"].get("requestBody", {}).get("content", {})
            schema = body.get("application/json", {}).get("schema", {})
            if "$ref" in schema:
                name = schema["$ref"].rsplit("/", 1)[-1]
                schema = spec.get("components", {}).get("schemas", {}).get(name, {})
            edit_fields = tuple(schema.get("properties", {}))
            if not {"version", "sex"} <= set(edit_fields):
                edit_path = None  # an edit API this benchmark does not know how to drive
            break
    dashboards = [p for p, ops in paths.items() if "dashboard" in p and "get" in ops]
    with httpx.Client(base_url=base, timeout=30) as client:
        status, _ = log_in_web(client, user)
        if status == 303 and client.get("/dashboard").status_code == 200:
            dashboards.insert(0, "/dashboard")
    return Features(edit_path, edit_fields, tuple(dashboards))


def warm_up(base: str, users: list[User]) -> None:
    """A few requests by one user of each role before the load, so that both workers have
    compiled their templates, opened connections and loaded their modules (a server runs for
    days; its first seconds are not what the targets are about)."""
    seen: set[str] = set()
    for user in users:
        if user.role in seen:
            continue
        seen.add(user.role)
        with httpx.Client(base_url=base, timeout=60) as client:
            log_in_web(client, user)
            for _ in range(6):
                client.get("/patients")
                client.get("/patients/none")


def log_in_web(client: httpx.Client, user: User) -> tuple[int, str]:
    form = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    answer = client.post(
        "/login",
        data={"username": user.name, "password": PASSWORD, "csrf_token": csrf[1] if csrf else ""},
    )
    return answer.status_code, answer.text


_LINK = re.compile(r'href="/patients/([^"?]+)"')


class SimulatedUser:
    """One user: logs in (page and API token), then browses until the budget ends."""

    def __init__(
        self,
        user: User,
        base: str,
        rec: Recorder,
        budget: Budget,
        features: Features,
        think_s: float,
        seed: int,
        start_delay_s: float = 0.0,
    ) -> None:
        self.start_delay_s = start_delay_s
        self.user = user
        self.rec = rec
        self.budget = budget
        self.features = features
        self.think_s = think_s
        self.dashboard_share = DASHBOARD_SHARE
        self.rng = random.Random(seed)
        # idle connections are dropped after 2 s, before the server's keep-alive timeout (5 s),
        # so that a request is never sent on a connection the server is just closing
        limits = httpx.Limits(keepalive_expiry=2.0)
        self.web = httpx.Client(base_url=base, timeout=30, limits=limits)
        self.api = httpx.Client(base_url=base, timeout=30, limits=limits)
        self.ids: list[str] = []
        self.total = 0
        self.dashboard_by: list[str] = []

    def timed(self, cls: str, method: str, url: str, client: httpx.Client, **kw: Any) -> Any:
        if self.user.role == "statistician" and KINDS.get(cls) != "login":
            cls += PSEUDONYMISED
        start = time.perf_counter()
        try:
            response = client.request(method, url, **kw)
        except httpx.HTTPError as exc:
            self.rec.add(cls, time.perf_counter() - start, 0, repr(exc))
            return None
        self.rec.add(cls, time.perf_counter() - start, response.status_code, response.text)
        return response

    def log_in(self) -> bool:
        start = time.perf_counter()
        status, _ = log_in_web(self.web, self.user)
        self.rec.add(
            "login (web form)", time.perf_counter() - start, 200 if status == 303 else status
        )
        token = self.timed(
            "login (API token)",
            "POST",
            "/api/v1/auth/token",
            self.api,
            json={"username": self.user.name, "password": PASSWORD},
        )
        if status != 303 or token is None or token.status_code != 200:
            return False
        self.api.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        return True

    def _random_offset(self) -> int:
        return self.rng.randrange(0, max(self.total, 1), 50) if self.total else 0

    def step(self) -> None:
        actions = ["list", "search", "patient", "api_list", "api_detail"]
        weights = [3, 2, 4, 2, 3]
        if self.features.edit_path and self.user.role in ("data_manager", "clinician", "admin"):
            actions.append("edit")
            weights.append(2)
        if self.features.dashboard_paths and self.dashboard_share > 0:
            actions.append("dashboard")
            weights.append(sum(weights) * self.dashboard_share / (1 - self.dashboard_share))
        action = self.rng.choices(actions, weights)[0]
        if action in ("patient", "api_detail", "edit") and not self.ids:
            action = "list"
        if action == "list":
            r = self.timed(
                "page: patient list", "GET", f"/patients?offset={self._random_offset()}", self.web
            )
            self._learn(r)
        elif action == "search":
            term = self._search_term()
            r = self.timed("page: search", "GET", "/patients", self.web, params={"q": term})
            self._learn(r)
        elif action == "patient":
            pid = self.rng.choice(self.ids)
            self.timed("page: patient", "GET", f"/patients/{pid}", self.web)
        elif action == "api_list":
            r = self.timed(
                "api: patient list",
                "GET",
                "/api/v1/patients",
                self.api,
                params={"limit": 50, "offset": self._random_offset()},
            )
            if r is not None and r.status_code == 200:
                body = r.json()
                self.total = int(body["total"])
                self.ids.extend(item["patient_id"] for item in body["items"][:5])
        elif action == "api_detail":
            pid = self.rng.choice(self.ids)
            self.timed("api: patient detail", "GET", f"/api/v1/patients/{pid}", self.api)
        elif action == "edit":
            self._edit()
        else:
            self._dashboard()
        del self.ids[:-200]

    def _dashboard(self) -> None:
        """The dashboard with a random subgroup variable of its form (or none), then each
        figure it links to, as a browser loads them (every request recomputes)."""
        path = self.rng.choice(self.features.dashboard_paths)
        client = self.web if not path.startswith("/api/") else self.api
        params = {}
        if path == "/dashboard" and self.dashboard_by:
            params["by"] = self.rng.choice(self.dashboard_by)
        page = self.timed("dashboard", "GET", path, client, params=params)
        if page is None or page.status_code != 200 or path != "/dashboard":
            return
        if not self.dashboard_by:
            form = re.search(r'<select[^>]*name="by"[^>]*>(.*?)</select>', page.text, re.S)
            self.dashboard_by = ["", *re.findall(r'value="([^"]+)"', form[1] if form else "")]
        for src in re.findall(r'<img[^>]*src="(/dashboard/figure/[^"]+)"', page.text):
            self.timed("dashboard figure", "GET", html.unescape(src), client)

    def _search_term(self) -> str:
        if self.user.role == "statistician":
            return "P" + "".join(self.rng.choice("0123456789abcdef") for _ in range(2))
        return self.rng.choice([f"SYN-{self.rng.randrange(10):d}", "0042", "syn-a", "99"])

    def _learn(self, response: Any) -> None:
        if response is None or response.status_code != 200:
            return
        found = _LINK.findall(response.text)
        self.ids.extend(found[:5])
        total = re.search(r"<p>([\d,]+) patients?", response.text)
        if total:
            self.total = int(total[1].replace(",", ""))

    def _edit(self) -> None:
        """Read a patient, then change its sex code (F <-> M; no rule depends on it) based on
        the version read, with a reason. Edits go to a small pool of patients, so two users now
        and then change one record at once and the later one gets 409 (expected)."""
        assert self.features.edit_path is not None
        pid = self.rng.choice(self.ids[:20])
        detail = self.timed("api: patient detail", "GET", f"/api/v1/patients/{pid}", self.api)
        if detail is None or detail.status_code != 200:
            return
        patient = detail.json().get("patient", detail.json())
        fields = self.features.edit_fields
        body: dict[str, Any] = {}
        if "version" in fields:
            body["version"] = patient.get("version")
        if "reason" in fields:
            body["reason"] = "load benchmark (SYNTHETIC registry)"
        if "sex" in fields:
            body["sex"] = "M" if patient.get("sex") == "F" else "F"
        path = self.features.edit_path.replace("{patient_id}", pid)
        self.timed("api: edit (PATCH)", "PATCH", path, self.api, json=body)

    def run(self) -> None:
        try:
            time.sleep(self.start_delay_s)
            try:
                logged_in = self.log_in()
            except httpx.HTTPError as exc:
                self.rec.add("login (web form)", 0.0, 0, repr(exc))
                logged_in = False
            except BaseException:
                self.budget.all_logged_in.abort()  # the others do not wait for ever
                raise
            self.budget.all_logged_in.wait()
            if not logged_in:
                return
            while self.budget.take():
                self.step()
                if self.think_s > 0:
                    time.sleep(self.think_s * self.rng.uniform(0.5, 1.5))
        finally:
            self.web.close()
            self.api.close()


# --- report ---------------------------------------------------------------------------------


def _quantile(sorted_values: list[float], q: float) -> float:
    """Linear-interpolation quantile (as numpy's default) of sorted values."""
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = q * (len(sorted_values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def summarise(rec: Recorder) -> list[dict[str, Any]]:
    rows = []
    for cls in [c for k in KINDS for c in (k, k + PSEUDONYMISED)]:
        values = sorted(rec.latencies.get(cls, []))
        if not values:
            continue
        kind = KINDS[cls.removesuffix(PSEUDONYMISED)]
        target = TARGET_S[kind]
        p95 = _quantile(values, 0.95)
        rows.append(
            {
                "class": cls,
                "kind": kind,
                "n": len(values),
                "p50_ms": 1000 * _quantile(values, 0.50),
                "p95_ms": 1000 * p95,
                "max_ms": 1000 * values[-1],
                "errors": rec.errors.get(cls, 0),
                "expected_409": rec.expected_409.get(cls, 0),
                "target_p95_ms": None if target is None else 1000 * target,
                "met": None if target is None else p95 <= target and not rec.errors.get(cls),
            }
        )
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    head = f"{'request class':<36}{'n':>7}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"
    print(head + f"{'errors':>8}{'409':>6}{'target':>9}  met")
    for r in rows:
        target = "-" if r["target_p95_ms"] is None else f"{r['target_p95_ms']:.0f}"
        met = "-" if r["met"] is None else ("yes" if r["met"] else "NO")
        print(
            f"{r['class']:<36}{r['n']:>7}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}"
            f"{r['max_ms']:>9.1f}{r['errors']:>8}{r['expected_409']:>6}{target:>9}  {met}"
        )


def time_services(url: str, repeats: int) -> list[dict[str, Any]]:
    """Median and minimum time of the service calls behind the pages, in this process (no
    HTTP, no concurrency): what one request costs in the database layer."""
    from ilpkit.adapters.db.engine import make_engine
    from ilpkit.services import access, accounts
    from ilpkit.services.access import Principal
    from ilpkit.services.deidentify import pseudonym

    os.environ["ILP_PSEUDONYM_KEY"] = KEY
    engine = make_engine(url, write_lock=True)
    two = frozenset(CENTRES[:2])
    staff = Principal("bench", "data_manager", two)
    stat = Principal("bench", "statistician", two)
    with engine.begin() as conn:
        pid = conn.execute(
            sa.text("SELECT patient_id FROM patients WHERE center = :c LIMIT 1"), {"c": CENTRES[0]}
        ).scalar_one()
        uid = conn.execute(sa.text("SELECT id FROM users LIMIT 1")).scalar_one()
        token, _ = accounts.open_session(conn, uid, "web")
    calls = {
        "list, 2 centres, first page": lambda c: access.list_patients(c, staff),
        "list, 2 centres, page 80": lambda c: access.list_patients(c, staff, offset=4000),
        "search, 2 centres": lambda c: access.list_patients(c, staff, "syn-1"),
        "patient, 2 centres": lambda c: access.get_patient(c, staff, pid),
        "list, statistician": lambda c: access.list_patients(c, stat),
        "search, statistician": lambda c: access.list_patients(c, stat, "p0"),
        "patient, statistician": lambda c: access.get_patient(
            c, stat, pseudonym(KEY.encode(), pid)
        ),
        "session lookup": lambda c: accounts.session_user(c, token, "web"),
    }
    rows = []
    for label, call in calls.items():
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            with engine.begin() as conn:
                call(conn)
            times.append(time.perf_counter() - start)
        times.sort()
        rows.append(
            {
                "call": label,
                "median_ms": 1000 * times[len(times) // 2],
                "min_ms": 1000 * times[0],
            }
        )
        print(f"{label:<32}{rows[-1]['median_ms']:>9.2f}{rows[-1]['min_ms']:>9.2f}")
    engine.dispose()
    return rows


def run_load(
    url: str, users: list[User], args: argparse.Namespace, label: str, source: Path | None
) -> dict[str, Any]:
    """Serve the registry, let the users browse, and return the figures of the run."""
    log = args.out.parent / f"web_load_server_{label}.log"
    proc, base = start_server(url, args.workers, log, source)
    try:
        admin = next(u for u in users if u.role == "admin")
        features = detect_features(base, admin)
        warm_up(base, users)
        print(
            f"\n[{label}] serving {base} with {args.workers} workers"
            f"{f' from {source}' if source else ''}; edits: "
            f"{features.edit_path or 'no such route'}; dashboard: "
            f"{', '.join(features.dashboard_paths) or 'no such route'}."
        )
        rec = Recorder()
        budget = Budget(args.max_requests, args.duration, len(users))
        sims = [
            SimulatedUser(
                u,
                base,
                rec,
                budget,
                features,
                args.think_ms / 1000,
                args.seed + i,
                start_delay_s=args.ramp_s * i / len(users),
            )
            for i, u in enumerate(users)
        ]
        for sim in sims:
            sim.dashboard_share = args.dashboard_share
        threads = [threading.Thread(target=s.run) for s in sims]
        start = time.perf_counter()
        load_before = os.getloadavg()[0]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - start
        browsing_s = time.monotonic() - budget.started_at
        load_after = os.getloadavg()[0]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    rows = summarise(rec)
    n_requests = sum(r["n"] for r in rows)
    n_browsing = n_requests - sum(r["n"] for r in rows if r["kind"] == "login")
    print(
        f"[{label}] {len(users)} users logged in, then {n_browsing:,} requests in "
        f"{browsing_s:.1f} s ({n_browsing / browsing_s:.1f}/s), think time "
        f"{args.think_ms:.0f} ms; load average {load_before:.1f} before, {load_after:.1f} after\n"
    )
    print_table(rows)
    for example in rec.examples:
        print("  error:", example)
    return {
        "label": label,
        "source": None if source is None else str(source),
        "wall_s": wall,
        "browsing_s": browsing_s,
        "requests": n_requests,
        "browsing_requests": n_browsing,
        "load_average": [load_before, load_after],
        "edit_route": features.edit_path,
        "dashboard_routes": list(features.dashboard_paths),
        "classes": rows,
        "error_examples": rec.examples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of browsing")
    parser.add_argument("--max-requests", type=int, default=20_000)
    parser.add_argument("--think-ms", type=float, default=500.0, help="mean think time")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--ramp-s", type=float, default=10.0, help="users log in one after another over this"
    )
    parser.add_argument("--database", default="ilp_bench_web_load")
    parser.add_argument("--reuse", action="store_true", help="reuse the database if it exists")
    parser.add_argument(
        "--baseline-src",
        type=Path,
        help="also serve from this source tree (the src folder of another checkout), first, "
        "as the same-run baseline",
    )
    parser.add_argument(
        "--services-only",
        type=int,
        metavar="REPEATS",
        help="only time the service calls behind the pages in this process, REPEATS times each",
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument(
        "--dashboard-share",
        type=float,
        default=DASHBOARD_SHARE,
        help="share of the actions that open the dashboard (when it exists)",
    )
    args = parser.parse_args()
    if not 0 <= args.dashboard_share < 1:
        parser.error("--dashboard-share is a fraction: at least 0, below 1")

    url = build_registry(args.database, args.patients, args.reuse)
    users = add_accounts(url, args.users)
    if args.services_only:
        import ilpkit

        print(f"Service calls of ilpkit from {Path(ilpkit.__file__).parent} (median, min ms):")
        time_services(url, args.services_only)
        return
    runs = []
    if args.baseline_src is not None:
        runs.append(run_load(url, users, args, "baseline", args.baseline_src.resolve()))
    runs.append(run_load(url, users, args, "this version", None))
    result = {
        "synthetic": True,
        "patients": args.patients,
        "users": args.users,
        "workers": args.workers,
        "duration_s": args.duration,
        "ramp_s": args.ramp_s,
        "think_ms": args.think_ms,
        "dashboard_share": args.dashboard_share,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"\nWritten {args.out}")
    missed = [r["class"] for r in runs[-1]["classes"] if r["met"] is False]
    if missed:
        print("Targets missed:", ", ".join(missed))


if __name__ == "__main__":
    main()
