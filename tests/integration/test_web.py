"""The web application and JSON API: login, CSRF, lock-out, tokens, escaping, and an
authorisation matrix over every route for every role, own and other centre."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route
from tests.integration.test_web_dashboard_files import ROUTES as DASHBOARD_FILE_ROUTES
from tests.integration.test_web_planner_leakage import ROUTES as PLANNER_LEAKAGE_ROUTES
from tests.integration.test_web_records import ROUTES as RECORD_ENTRY_ROUTES
from tests.integration.webdata import (
    KEY,
    PASSWORD,
    PATIENTS,
    ROLE_ACCOUNTS,
    XSS_ID,
    web_registry,
)
from tests.integration.webdata import (
    csrf_of as _csrf,
)

from ilpkit.web.app import create_app


@pytest.fixture
def registry(db_url, monkeypatch):
    return web_registry(db_url, monkeypatch)


@pytest.fixture
def client(registry):
    with TestClient(create_app(registry)) as c:
        yield c


def login(client: TestClient, username: str, password: str = PASSWORD):
    form = client.get("/login")
    data = {"username": username, "password": password, "csrf_token": _csrf(form.text)}
    return client.post("/login", data=data, follow_redirects=False)


def token(client: TestClient, username: str, password: str = PASSWORD):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def pseudonym(pid: str) -> str:
    mac = hmac.new(KEY.encode(), b"ilpkit pseudonym\x00" + pid.encode(), hashlib.sha256)
    return "P" + mac.hexdigest()[:32]


def test_login_sets_a_safe_cookie_and_logout_needs_the_csrf_token(client):
    assert client.get("/patients", follow_redirects=False).headers["location"] == "/login"
    response = login(client, "dm_a")
    assert response.status_code == 303 and response.headers["location"] == "/dashboard"
    cookie = response.headers["set-cookie"]
    assert "ilp_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http (TLS is at the proxy)
    page = client.get("/patients")
    assert page.status_code == 200 and "A-001" in page.text
    refused = client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert refused.status_code == 403
    assert client.get("/patients", follow_redirects=False).status_code == 200
    old = client.cookies.get("ilp_session")
    done = client.post("/logout", data={"csrf_token": _csrf(page.text)}, follow_redirects=False)
    assert done.status_code == 303
    assert client.get("/patients", follow_redirects=False).status_code == 303
    client.cookies.set("ilp_session", old)
    assert client.get("/patients", follow_redirects=False).status_code == 303


def test_cookie_is_secure_over_https(registry):
    with TestClient(create_app(registry), base_url="https://testserver") as c:
        assert "Secure" in login(c, "dm_a").headers["set-cookie"]


def test_login_without_the_csrf_token_is_refused(client):
    client.get("/login")
    data = {"username": "dm_a", "password": PASSWORD, "csrf_token": "not the token"}
    response = client.post("/login", data=data, follow_redirects=False)
    assert response.status_code == 403 and "ilp_session" not in response.headers.get(
        "set-cookie", ""
    )
    client.cookies.clear()
    data["csrf_token"] = ""
    assert client.post("/login", data=data, follow_redirects=False).status_code == 403


def test_lock_out_after_five_wrong_passwords_on_page_and_api(client):
    for _ in range(4):
        assert login(client, "cl_a", "wrong password").status_code == 401
    assert token(client, "cl_a", "wrong password").status_code == 429  # the fifth failure
    locked = login(client, "cl_a")
    assert locked.status_code == 429 and "locked" in locked.text
    assert token(client, "cl_a").status_code == 429
    assert login(client, "dm_a").status_code == 303  # other accounts are not affected


def test_idle_session_ends(registry):
    with TestClient(create_app(registry, idle_timeout=timedelta(0))) as c:
        assert login(c, "dm_a").status_code == 303
        assert c.get("/patients", follow_redirects=False).headers["location"] == "/login"


def test_token_auth(client):
    assert token(client, "dm_a", "wrong password").status_code == 401
    assert token(client, "nobody", "wrong password").status_code == 401
    assert client.get("/api/v1/patients").status_code == 401
    bad = client.get("/api/v1/patients", headers={"Authorization": "Bearer forged"})
    assert bad.status_code == 401
    issued = token(client, "dm_a")
    assert issued.status_code == 200 and issued.json()["token_type"] == "bearer"
    auth = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    page = client.get("/api/v1/patients", params={"limit": 2, "offset": 1}, headers=auth)
    assert page.status_code == 200
    assert page.json()["total"] == 3 and [p["patient_id"] for p in page.json()["items"]] == [
        "A-001",
        "A-002",
    ]
    detail = client.get("/api/v1/patients/A-002", headers=auth).json()
    assert detail["perfusions"][0]["perfusion_id"] == "perf-002"
    # a browser session cookie is not an API token and the other way round
    login(client, "dm_a")
    client.cookies.set("ilp_session", issued.json()["access_token"])
    assert client.get("/patients", follow_redirects=False).status_code == 303


def test_patient_ids_are_escaped(client):
    login(client, "dm_a")
    listing = client.get("/patients")
    assert XSS_ID not in listing.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listing.text
    page = client.get("/patients/%3Cscript%3Ealert%281%29%3C%2Fscript%3E")
    assert page.status_code == 200 and XSS_ID not in page.text
    assert "&lt;script&gt;" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_statistician_is_refused_without_a_key(client, monkeypatch):
    monkeypatch.delenv("ILP_PSEUDONYM_KEY")
    login(client, "st_a")
    assert client.get("/patients").status_code == 403
    auth = {"Authorization": f"Bearer {token(client, 'st_a').json()['access_token']}"}
    assert client.get("/api/v1/patients", headers=auth).status_code == 403


def test_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/auth/token", "/api/v1/patients", "/api/v1/patients/{patient_id}"} <= set(
        doc["paths"]
    )


# --- authorisation matrix ------------------------------------------------------------------

OWN, OTHER = "A-001", "B-001"
"""A patient of centre CA (every non-admin account's centre) and one of centre CB."""
OWN_PERFUSION, OTHER_PERFUSION = "perf-001", "perf-004"
"""The perfusions of A-001 and of B-001."""
CA_IDS = {pid for pid, c in PATIENTS.items() if c == "CA"}
PUBLIC = {
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/docs"),
    ("POST", "/api/v1/auth/token"),
}
"""Routes without patient data, open before login (login and the API description)."""
SESSION_ONLY = {("GET", "/"), ("POST", "/logout")}
"""Routes of a logged-in user that show no record (tested in the login tests)."""
RECORD_ROUTES = {
    ("GET", "/patients"),
    ("GET", "/patients/{patient_id:path}"),
    ("GET", "/api/v1/patients"),
    ("GET", "/api/v1/patients/{patient_id:path}"),
    ("GET", "/api/v1/perfusions/{perfusion_id}"),
}
"""Routes that show records: walked below for every role, own and other centre."""


def _routes(app) -> set[tuple[str, str]]:
    out = set()
    for route in app.routes:
        if isinstance(route, Mount) and route.path == "/static":
            continue  # the vendored static files
        assert isinstance(route, APIRoute | Route), f"a route the matrix cannot read: {route}"
        out |= {(m, route.path) for m in route.methods - {"HEAD"}}
    return out


def test_every_route_has_a_matrix_entry(registry):
    assert _routes(create_app(registry)) == (
        PUBLIC
        | SESSION_ONLY
        | RECORD_ROUTES
        | PLANNER_LEAKAGE_ROUTES
        | RECORD_ENTRY_ROUTES
        | DASHBOARD_FILE_ROUTES
    )


def _shown(role: str, pid: str) -> str:
    return pseudonym(pid) if role == "statistician" else pid


def _shown_perfusion(role: str, perfusion_id: str) -> str:
    if role != "statistician":
        return perfusion_id
    mac = hmac.new(
        KEY.encode(), b"ilpkit perfusion pseudonym\x00" + perfusion_id.encode(), hashlib.sha256
    )
    return "F" + mac.hexdigest()[:32]


@pytest.mark.parametrize("role", list(ROLE_ACCOUNTS))
def test_authorisation_matrix(client, role):
    name, _ = ROLE_ACCOUNTS[role]
    sees_all = role == "admin"
    # unauthenticated: pages go to the login page, the API answers 401
    assert client.get(f"/patients/{OWN}", follow_redirects=False).status_code == 303
    assert client.get("/patients", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/patients").status_code == 401
    assert client.get(f"/api/v1/patients/{OWN}").status_code == 401
    assert client.get(f"/api/v1/perfusions/{OWN_PERFUSION}").status_code == 401

    assert login(client, name).status_code == 303
    auth = {"Authorization": f"Bearer {token(client, name).json()['access_token']}"}
    own, other = _shown(role, OWN), _shown(role, OTHER)
    visible = set(PATIENTS) if sees_all else CA_IDS
    hidden = set(PATIENTS) - visible

    # list page and list API: exactly the visible patients, never a hidden id or pseudonym
    listing = client.get("/patients", params={"q": ""})
    api_list = client.get("/api/v1/patients", headers=auth, params={"limit": 200})
    assert listing.status_code == 200 and api_list.status_code == 200
    assert {p["patient_id"] for p in api_list.json()["items"]} == {_shown(role, p) for p in visible}
    assert api_list.json()["total"] == len(visible)
    assert f"{len(visible)} patients." in listing.text
    for pid in hidden:
        for text in (listing.text, api_list.text):
            assert _shown(role, pid) not in text and pid not in text
    # searching for the other centre finds nothing (and counts nothing)
    for q in ("B-", "CB"):
        found = client.get("/api/v1/patients", headers=auth, params={"q": q}).json()
        assert found["total"] == (2 if sees_all and role != "statistician" else 0)

    # record pages and API: own 200; other centre 404 with the message of a missing record
    assert client.get(f"/patients/{own}").status_code == 200
    assert client.get(f"/api/v1/patients/{own}", headers=auth).status_code == 200
    other_page = client.get(f"/patients/{other}")
    other_api = client.get(f"/api/v1/patients/{other}", headers=auth)
    own_perfusion = client.get(
        f"/api/v1/perfusions/{_shown_perfusion(role, OWN_PERFUSION)}", headers=auth
    )
    assert own_perfusion.status_code == 200 and own_perfusion.json()["patient_id"] == own
    other_perfusion = client.get(f"/api/v1/perfusions/{OTHER_PERFUSION}", headers=auth)
    if sees_all:
        assert other_page.status_code == 200 and other_api.status_code == 200
        assert other_perfusion.json()["patient_id"] == other
    else:
        assert other_perfusion.status_code == 404
        assert other_perfusion.json() == {"detail": f"there is no perfusion '{OTHER_PERFUSION}'"}
        assert other_page.status_code == 404 and other_api.status_code == 404
        missing = client.get(f"/api/v1/patients/{_shown(role, 'B-999')}", headers=auth)
        assert other_api.json()["detail"].replace(other, "X") == missing.json()["detail"].replace(
            _shown(role, "B-999"), "X"
        )
        assert "<td>CB</td>" not in other_page.text and "<td>CB</td>" not in listing.text
    if role == "statistician":  # the real id does not address a record either
        assert client.get(f"/api/v1/patients/{OWN}", headers=auth).status_code == 404
        assert client.get(f"/api/v1/perfusions/{OWN_PERFUSION}", headers=auth).status_code == 404
        assert OWN_PERFUSION not in client.get(f"/api/v1/patients/{own}", headers=auth).text
        assert "1950-01-01" not in client.get(f"/patients/{own}").text


def test_a_busy_registry_is_a_503_with_the_reason(client, monkeypatch):
    from ilpkit.adapters.db.errors import RegistryBusyError
    from ilpkit.services import access

    login(client, "dm_a")
    auth = {"Authorization": f"Bearer {token(client, 'dm_a').json()['access_token']}"}

    def busy(*args, **kwargs):
        raise RegistryBusyError("the registry <x> is busy")

    monkeypatch.setattr(access, "list_patients", busy)
    page = client.get("/patients")
    assert page.status_code == 503 and "the registry &lt;x&gt; is busy" in page.text
    api = client.get("/api/v1/patients", headers=auth)
    assert api.status_code == 503
    assert api.json() == {
        "detail": "The registry cannot be used just now: the registry <x> is busy"
    }
