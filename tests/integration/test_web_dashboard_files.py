"""The dashboard, CSV import, export and report downloads of the web application: numbers checked
by hand on the small two-centre registry, centre isolation in counts, curves, imports and
downloads, and the authorisation matrix of these routes for every role."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import math
import re
import zipfile
from datetime import date

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from tests.conftest import make_row, write_csv
from tests.integration.webdata import (
    KEY,
    PASSWORD,
    ROLE_ACCOUNTS,
    XSS_ID,
    web_registry,
)
from tests.integration.webdata import csrf_of as _csrf

from ilpkit.adapters.db.engine import make_engine
from ilpkit.adapters.db.tables import audit_log, patients, perfusions
from ilpkit.services.registry_import import NOT_AVAILABLE_PATIENT, NOT_AVAILABLE_PERFUSION
from ilpkit.web.app import create_app

ROUTES = {
    ("GET", "/dashboard"),
    ("GET", "/import"),
    ("POST", "/import"),
    ("GET", "/export"),
    ("GET", "/report"),
}
"""The routes of the dashboard and file pages (walked for every role below)."""

# Outcomes added to the two-centre registry of webdata (one perfusion per patient, perfusions
# on 2001-03-01 .. 2001-03-05 for patients 1 .. 5, last follow-up 2008-01-01):
#   centre CA: A-001 died 2002-03-01 (365 days), CR
#              A-002 alive (2496 days), PR, local recurrence 2003-03-02 (730 days)
#              XSS   died 2004-03-03 (1096 days), NC
#   centre CB: B-001 died 2001-09-01, CR;  B-002 alive, CR
OUTCOMES = {
    1: {"death": date(2002, 3, 1), "response": "CR", "lr": None},
    2: {"death": None, "response": "PR", "lr": date(2003, 3, 2)},
    3: {"death": date(2004, 3, 3), "response": "NC", "lr": None},
    4: {"death": date(2001, 9, 1), "response": "CR", "lr": None},
    5: {"death": None, "response": "CR", "lr": None},
}


def add_outcomes(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for pk, o in OUTCOMES.items():
                if o["death"] is not None:
                    conn.execute(
                        sa.update(patients)
                        .where(patients.c.id == pk)
                        .values(death_date=o["death"], last_followup_date=o["death"])
                    )
                conn.execute(
                    sa.update(perfusions)
                    .where(perfusions.c.patient_pk == pk)
                    .values(response=o["response"], local_recurrence_date=o["lr"])
                )
    finally:
        engine.dispose()


@pytest.fixture
def registry(db_url, monkeypatch):
    return web_registry(db_url, monkeypatch, outcomes=add_outcomes)


@pytest.fixture
def client(registry):
    with TestClient(create_app(registry)) as c:
        yield c


def login(client: TestClient, username: str):
    form = client.get("/login")
    data = {"username": username, "password": PASSWORD, "csrf_token": _csrf(form.text)}
    return client.post("/login", data=data, follow_redirects=False)


def pseudonym(pid: str) -> str:
    mac = hmac.new(KEY.encode(), b"ilpkit pseudonym\x00" + pid.encode(), hashlib.sha256)
    return "P" + mac.hexdigest()[:32]


def _count(page: str, what: str) -> int:
    return int(re.search(rf'id="n-{what}">([\d,]+)<', page).group(1).replace(",", ""))


def _curves(page: str) -> list[str]:
    """The inline SVG curves of a dashboard page."""
    return re.findall(r'<svg class="chart curves".*?</svg>', page, re.S)


def _at_risk(svg: str) -> list[str]:
    """The numbers at risk of the first row of a curve's table."""
    table = svg.split('<g class="at-risk">')[1].split("</g>")[0]
    return re.findall(r'text-anchor="middle">([\d,]+)</text>', table)


def _loglog_ci(s: float, var_log_s: float) -> tuple[float, float]:
    """Log(-log) 95% CI of a survival probability (R survfit conf.type = "log-log")."""
    se = math.sqrt(var_log_s) / abs(math.log(s))
    z = 1.959963984540054
    return s ** math.exp(z * se), s ** math.exp(-z * se)


# --- dashboard -----------------------------------------------------------------------------


def test_dashboard_numbers_of_own_centre_checked_by_hand(client):
    login(client, "dm_a")
    page = client.get("/dashboard")
    assert page.status_code == 200
    text = page.text
    assert (_count(text, "patients"), _count(text, "perfusions"), _count(text, "centers")) == (
        3,
        3,
        1,
    )
    # ORR 2/3 and CR 1/3 with Clopper-Pearson limits (beta quantiles, computed with scipy)
    from scipy.stats import beta

    orr_lo, orr_hi = beta.ppf(0.025, 2, 2), beta.ppf(0.975, 3, 1)
    cr_lo, cr_hi = beta.ppf(0.025, 1, 3), beta.ppf(0.975, 2, 2)
    assert f"66.7% ({100 * orr_lo:.1f}–{100 * orr_hi:.1f})" in text
    assert f"33.3% ({100 * cr_lo:.1f}–{100 * cr_hi:.1f})" in text
    # OS by Kaplan-Meier: deaths at 365 days (3 at risk) and 1096 days (2 at risk); at 1 year
    # S = 2/3 with Greenwood var(log S) = 1 / (3 * 2), 2 still at risk; at 5 years S = 1/3
    lo, hi = _loglog_ci(2 / 3, 1 / 6)
    assert f"66.7% ({100 * lo:.1f}–{100 * hi:.1f}) [2]" in text
    var5 = 1 / 6 + 1 / (2 * 1)
    lo5, hi5 = _loglog_ci(1 / 3, var5)
    assert f"33.3% ({100 * lo5:.1f}–{100 * hi5:.1f}) [1]" in text
    # local recurrence: 1 of 3 perfusions; Aalen-Johansen: death at 365 d leaves 2/3 free of
    # both, LR at 730 d among 2 at risk: F(2 y) = 2/3 * 1/2 = 1/3 (730 d < 2 years)
    assert "1/3 = 33.3%" in text
    table = text.split('id="local-recurrence"')[1].split("</table>")[0]
    cells = re.findall(r"<td>([^<]*)</td>", table)
    assert cells[1].startswith("0.0%") and cells[2].startswith("33.3%")
    # nothing of centre CB
    assert "B-001" not in text and "CB" not in text
    assert XSS_ID not in text  # no patient id on the dashboard at all


def test_dashboard_counts_and_curves_exclude_other_centres(client):
    login(client, "root")  # admin: both centres
    both = client.get("/dashboard").text
    assert (_count(both, "patients"), _count(both, "centers")) == (5, 2)
    only_b = client.get("/dashboard", params={"center": "CB"}).text
    assert _count(only_b, "patients") == 2
    only_a = client.get("/dashboard", params={"center": "CA"}).text
    assert _count(only_a, "patients") == 3
    # the curves of centre CA are those of the data manager of CA, and differ from all centres
    admin_ca, admin_all = _curves(only_a), _curves(both)
    assert len(admin_ca) == 2
    # numbers at risk under the ticks 0, 0.5 and 1 year (no curve reaches 10 at risk, so the
    # axis keeps its first ticks): CA has 3 patients, A-001 died at 365 days (< 1 year); both
    # centres add B-001 (died after 181 days, < 0.5 year) and B-002 (alive)
    assert _at_risk(admin_ca[0]) == ["3", "3", "2"]
    assert _at_risk(admin_all[0]) == ["5", "4", "3"]
    client.cookies.clear()
    login(client, "dm_a")
    assert _curves(client.get("/dashboard").text) == admin_ca != admin_all
    # another centre cannot be chosen, and is refused like one that does not exist
    refused = client.get("/dashboard", params={"center": "CB"})
    missing = client.get("/dashboard", params={"center": "ZZ"})
    assert refused.status_code == missing.status_code == 400
    assert refused.text.replace("CB", "X") == missing.text.replace("ZZ", "X")
    assert "<svg" not in refused.text
    assert 'value="CB"' not in client.get("/dashboard").text


def test_dashboard_subgroups_and_unknown_filters(client):
    login(client, "root")
    page = client.get("/dashboard", params={"center": "CA", "by": "limb"})
    assert page.status_code == 200
    assert "Log-rank test" in page.text and "not tested: only one level present (leg)" in page.text
    tnf = client.get("/dashboard", params={"by": "tnf_mg"})
    assert "3 mg" in tnf.text
    assert client.get("/dashboard", params={"by": "patient_id"}).status_code == 400
    # both curves are in the page, drawn by classes (the page's policy forbids inline styles)
    limb = client.get("/dashboard", params={"by": "limb"})
    curves = _curves(limb.text)
    assert [re.search(r'id="([^"]+)"', c).group(1) for c in curves] == [
        "overall-survival-curves",
        "local-recurrence-curves",
    ]
    assert all('role="img"' in c and "<title" in c and "<desc" in c for c in curves)
    assert "style=" not in limb.text and "<script>" not in limb.text
    assert limb.headers["content-security-policy"].startswith("default-src 'self'")
    # no level of the subgroup recorded (no grade in this registry): no curve, said so
    grade = client.get("/dashboard", params={"by": "grade"}).text
    assert not _curves(grade)
    assert grade.count("No curve: no FNCLCC grade is recorded in this selection.") == 2
    # the former figure requests are gone: the page is the complete view
    assert client.get("/dashboard/figure/overall-survival.svg").status_code == 404


def test_statistician_dashboard_is_aggregate_and_needs_no_key(client, monkeypatch):
    monkeypatch.delenv("ILP_PSEUDONYM_KEY")
    login(client, "st_a")
    page = client.get("/dashboard")
    assert page.status_code == 200 and _count(page.text, "patients") == 3
    assert "A-001" not in page.text and pseudonym("A-001") not in page.text
    assert "1950-01-0" not in page.text


def test_landing_page_is_the_dashboard(client):
    assert login(client, "cl_a").headers["location"] == "/dashboard"
    assert client.get("/", follow_redirects=False).headers["location"] == "/dashboard"


# --- import --------------------------------------------------------------------------------


def _upload(client, path, check_only=False, token=None):
    form = client.get("/import")
    data = {"csrf_token": token if token is not None else _csrf(form.text)}
    if check_only:
        data["check_only"] = "1"
    with path.open("rb") as fh:
        return client.post("/import", data=data, files={"file": (path.name, fh, "text/csv")})


def _ids(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(sa.select(patients.c.patient_id)).scalars())
    finally:
        engine.dispose()


def _row(pid: str, center: str = "CA", **kw: str) -> dict[str, str]:
    return make_row(patient_id=pid, center=center, **kw)


def test_import_success_check_only_and_summary(client, registry, tmp_path):
    login(client, "dm_a")
    path = write_csv(tmp_path / "new.csv", [_row("A-010"), _row("A-011")])
    checked = _upload(client, path, check_only=True)
    assert checked.status_code == 200 and "nothing was imported (check only)" in checked.text
    assert "A-010" not in _ids(registry)
    done = _upload(client, path)
    assert done.status_code == 200 and "Imported new.csv" in done.text
    assert re.search(r"Patients added</th><td>2<", done.text)
    assert {"A-010", "A-011"} <= _ids(registry)
    engine = make_engine(registry)
    with engine.connect() as conn:
        actors = set(
            conn.execute(
                sa.select(audit_log.c.actor).where(audit_log.c.action == "import")
            ).scalars()
        )
    engine.dispose()
    assert actors == {"dm_a"}


def test_import_with_problems_imports_nothing_and_lists_them(client, registry, tmp_path):
    login(client, "dm_a")
    rows = [_row("A-020"), _row("A-021", limb_volume_l="banana")]
    response = _upload(client, write_csv(tmp_path / "bad.csv", rows))
    assert response.status_code == 422 and "nothing was imported" in response.text
    table = response.text.split('class="problems"')[1]
    assert re.search(r"<td>3</td><td>limb_volume_l</td><td>banana</td><td>[^<]+</td>", table)
    assert not {"A-020", "A-021"} & _ids(registry)


def test_import_refuses_rows_of_other_centres_naming_them(client, registry, tmp_path):
    login(client, "dm_a")
    rows = [_row("A-030"), _row("C-001", center="CB"), _row("C-002", center="CC")]
    response = _upload(client, write_csv(tmp_path / "mixed.csv", rows))
    assert response.status_code == 422 and "nothing was imported" in response.text
    for line, center in ((3, "CB"), (4, "CC")):
        cell = f"<td>{line}</td><td>center</td><td>{center}</td><td>is not one of your centres (CA)"
        assert cell in response.text
    assert not {"A-030", "C-001", "C-002"} & _ids(registry)
    # an admin may import into any centre
    client.cookies.clear()
    login(client, "root")
    assert _upload(client, write_csv(tmp_path / "admin.csv", rows)).status_code == 200
    assert {"A-030", "C-001", "C-002"} <= _ids(registry)


def test_import_refuses_another_centres_ids_without_revealing_them(client, registry, tmp_path):
    login(client, "dm_a")
    rows = [
        _row("B-001"),  # a patient of centre CB
        _row("b-002"),  # another CB patient's id in other case
        _row("A-040", perfusion_id="perf-004"),  # the perfusion of B-001
        _row("A-041", perfusion_id="perf-999"),  # no such perfusion anywhere
    ]
    columns = [*list(make_row()), "perfusion_id"]
    response = _upload(client, write_csv(tmp_path / "ids.csv", rows, columns))
    assert response.status_code == 422
    text = response.text
    assert f"<td>2</td><td>patient_id</td><td>B-001</td><td>{NOT_AVAILABLE_PATIENT}</td>" in text
    assert f"<td>3</td><td>patient_id</td><td>b-002</td><td>{NOT_AVAILABLE_PATIENT}</td>" in text
    # a perfusion_id of another centre and one that exists nowhere get the same answer
    assert f"<td>perf-004</td><td>{NOT_AVAILABLE_PERFUSION}</td>" in text
    assert f"<td>perf-999</td><td>{NOT_AVAILABLE_PERFUSION}</td>" in text
    assert "CB" not in text and "B-002" not in text and "2001-03-04" not in text
    assert not {"A-040", "A-041"} & _ids(registry)
    engine = make_engine(registry)
    with engine.connect() as conn:
        center = conn.execute(
            sa.select(patients.c.center).where(patients.c.patient_id == "B-001")
        ).scalar_one()
    engine.dispose()
    assert center == "CB"


def test_import_counts_only_own_centres_records(registry, tmp_path):
    from ilpkit.services.access import Principal
    from ilpkit.services.web_files import import_upload

    path = write_csv(tmp_path / "one.csv", [_row("A-050")])
    mine = Principal("dm_a", "data_manager", frozenset({"CA"}))
    report = import_upload(registry, mine, path, today=date(2026, 1, 1), dry_run=True)
    # stored records the file does not mention: those of CA only (3), not the registry's 5
    assert (report.patients_not_in_file, report.perfusions_not_in_file) == (3, 3)
    admin = Principal("root", "admin")
    report = import_upload(registry, admin, path, today=date(2026, 1, 1), dry_run=True)
    assert (report.patients_not_in_file, report.perfusions_not_in_file) == (5, 5)


def test_import_needs_csrf_role_and_size_limit(client, registry, tmp_path, monkeypatch):
    path = write_csv(tmp_path / "x.csv", [_row("A-060")])
    login(client, "dm_a")
    assert _upload(client, path, token="forged").status_code == 403
    from ilpkit.web.routes import files

    monkeypatch.setattr(files, "MAX_UPLOAD_BYTES", 100)
    too_big = _upload(client, path)  # counted while it is saved
    assert too_big.status_code == 413 and "nothing was imported" in too_big.text
    big = write_csv(tmp_path / "big.csv", [_row(f"A-{n:04d}") for n in range(600)])
    assert big.stat().st_size > 100 + 64 * 1024

    async def never(*args):
        raise AssertionError("the body was read")

    monkeypatch.setattr(files, "_save_upload", never)
    announced = _upload(client, big)  # refused from its Content-Length, before it is read
    assert announced.status_code == 413 and "larger than 0 MB" in announced.text
    assert "A-060" not in _ids(registry) and "A-0001" not in _ids(registry)
    client.cookies.clear()
    login(client, "cl_a")
    assert client.get("/import").status_code == 403
    assert _upload(client, path).status_code == 403
    assert "A-060" not in _ids(registry)


# --- export and report ---------------------------------------------------------------------


def _csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def test_export_of_own_centres_audited_with_the_user(client, registry):
    login(client, "dm_a")
    response = client.get("/export", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment;")
    rows = _csv_rows(response.content)
    assert {r["patient_id"] for r in rows} == {"A-001", "A-002", XSS_ID}
    assert {r["center"] for r in rows} == {"CA"}
    engine = make_engine(registry)
    with engine.connect() as conn:
        entry = conn.execute(sa.select(audit_log).where(audit_log.c.action == "export")).one()
    engine.dispose()
    assert entry.actor == "dm_a"
    details = entry.details if isinstance(entry.details, dict) else json.loads(entry.details)
    assert details["centers"] == ["CA"] and details["patients"] == 3
    for fmt in ("sav", "dta", "parquet", "odm", "fhir"):
        other = client.get("/export", params={"format": fmt})
        assert other.status_code == 200 and b"B-001" not in other.content, fmt
    fhir = zipfile.ZipFile(io.BytesIO(client.get("/export", params={"format": "fhir"}).content))
    assert len(fhir.namelist()) == 3
    assert client.get("/export", params={"format": "xls"}).status_code == 400


def test_statistician_export_is_deidentified(client):
    login(client, "st_a")
    response = client.get("/export", params={"format": "csv"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = archive.namelist()
    data = next(n for n in names if n.endswith(".csv"))
    manifest = json.loads(archive.read(next(n for n in names if n.endswith("manifest.json"))))
    rows = _csv_rows(archive.read(data))
    assert {r["patient_id"] for r in rows} == {pseudonym(p) for p in ("A-001", "A-002", XSS_ID)}
    # every date of a patient moved back by 1 to 1,095 days; intervals unchanged
    for r in rows:
        shifted = date.fromisoformat(r["ilp_date"])
        assert r["ilp_date"] not in ("2001-03-01", "2001-03-02", "2001-03-03")
        assert date(1998, 3, 1) <= shifted < date(2001, 3, 3)
    assert "A-001" not in archive.read(data).decode()
    assert manifest["patients"] == 3 and "key_fingerprint" in manifest


def test_export_roles_and_the_key(client, monkeypatch):
    for name in ("mo_a", "cl_a"):
        client.cookies.clear()
        login(client, name)
        assert client.get("/export", params={"format": "csv"}).status_code == 403
    client.cookies.clear()
    monkeypatch.delenv("ILP_PSEUDONYM_KEY")
    login(client, "st_a")
    refused = client.get("/export", params={"format": "csv"})
    assert refused.status_code == 403 and "ILP_PSEUDONYM_KEY" in refused.text
    assert client.get("/report").status_code == 403


def test_report_download_of_own_centres(client):
    login(client, "dm_a")
    response = client.get("/report")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-disposition"].startswith("attachment;")
    html = response.text
    assert "<html" in html and "B-001" not in html and "centres: CA" in html
    client.cookies.clear()
    login(client, "st_a")
    deidentified = client.get("/report")
    assert deidentified.status_code == 200 and "de-identified" in deidentified.text


def test_statistician_sees_the_deidentified_view_everywhere(client):
    login(client, "st_a")
    listing = client.get("/patients")
    for pid in ("A-001", "A-002"):
        assert pseudonym(pid) in listing.text and f">{pid}<" not in listing.text
    page = client.get(f"/patients/{pseudonym('A-001')}")
    assert page.status_code == 200
    assert "1950-01-01" not in page.text and "2002-03-01" not in page.text  # birth, death
    assert "2001-03-01" not in page.text and "perf-001" not in page.text  # perfusion, its id
    # the API shows the same shifted dates as the statistician's de-identified export
    issued = client.post("/api/v1/auth/token", json={"username": "st_a", "password": PASSWORD})
    auth = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    archive = zipfile.ZipFile(io.BytesIO(client.get("/export", params={"format": "csv"}).content))
    exported = {
        r["patient_id"]: r
        for r in _csv_rows(archive.read(next(n for n in archive.namelist() if n.endswith(".csv"))))
    }
    for pid in ("A-001", "A-002", XSS_ID):
        detail = client.get(f"/api/v1/patients/{pseudonym(pid)}", headers=auth).json()
        row = exported[pseudonym(pid)]
        assert detail["patient"]["last_followup_date"] == row["last_followup_date"]
        assert detail["perfusions"][0]["ilp_date"] == row["ilp_date"]
        assert detail["patient"]["birth_date"] is None and detail["patient"]["death_date"] is None
        perfusion = detail["perfusions"][0]["perfusion_id"]
        assert perfusion.startswith("F") and len(perfusion) == 33
        by_pseudonym = client.get(f"/api/v1/perfusions/{perfusion}", headers=auth)
        assert by_pseudonym.json()["patient_id"] == pseudonym(pid)


# --- authorisation matrix ------------------------------------------------------------------


@pytest.mark.parametrize("role", list(ROLE_ACCOUNTS))
def test_dashboard_and_file_routes_for_every_role(client, role, tmp_path):
    name, _ = ROLE_ACCOUNTS[role]
    # before login: every page goes to the login page; the import form post too
    for path in ("/dashboard", "/import", "/export", "/report"):
        assert client.get(path, follow_redirects=False).status_code == 303, path
    assert (
        client.post("/import", data={"csrf_token": "x"}, follow_redirects=False).status_code == 303
    )

    login(client, name)
    sees_all = role == "admin"
    dash = client.get("/dashboard")
    assert dash.status_code == 200 and _count(dash.text, "patients") == (5 if sees_all else 3)
    other = client.get("/dashboard", params={"center": "CB"})
    assert other.status_code == (200 if sees_all else 400)
    assert (len(_curves(other.text)) == 1) == sees_all  # CB: no local recurrence to draw
    assert ("No local recurrence in this selection" in other.text) == sees_all

    imports = role in ("admin", "data_manager")
    assert client.get("/import").status_code == (200 if imports else 403)
    other_row = write_csv(tmp_path / "cb.csv", [_row("C-100", center="CB")])
    posted = _upload(client, other_row) if imports else None
    if posted is not None:
        assert posted.status_code == (200 if sees_all else 422)

    exports = role in ("admin", "data_manager", "statistician")
    listing = client.get("/export")
    assert listing.status_code == (200 if exports else 403)
    download = client.get("/export", params={"format": "csv"})
    assert download.status_code == (200 if exports else 403)
    if exports:
        content = download.content
        if role == "statistician":
            archive = zipfile.ZipFile(io.BytesIO(content))
            content = b"".join(archive.read(n) for n in archive.namelist())
        assert (b"B-001" in content) == sees_all
        assert (pseudonym("B-001").encode() in content) is False
        assert (b"A-001" in content) == (role != "statistician")

    report = client.get("/report")
    assert report.status_code == 200
    assert "B-001" not in report.text
