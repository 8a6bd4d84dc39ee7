"""The dashboard's door, from outside: what a stranger, another site or a rebinding DNS name
gets (no browser needed: plain HTTP shows every header)."""

from __future__ import annotations

import anyio
import httpx

from memorymesh import AsyncMemoryMesh
from memorymesh.ui._security import COOKIE_NAME, MAX_BODY_BYTES

from .conftest import Dashboard


def _login(dashboard: Dashboard, client: httpx.Client) -> str:
    """Log ``client`` in with a fresh token; the CSRF token of its session."""
    response = client.get(dashboard.login_url())
    assert response.status_code == 303
    assert "token=" not in response.headers["location"]
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    page = client.get("/")
    assert page.status_code == 200
    marker = 'name="csrf-token" content="'
    return page.text.split(marker, 1)[1].split('"', 1)[0]


def test_a_request_without_the_token_is_refused(dashboard: Dashboard) -> None:
    with httpx.Client(base_url=dashboard.base) as client:
        assert client.get("/").status_code == 401
        api = client.get("/api/memories")
        assert api.status_code == 401
        assert api.json()["error"]["type"] == "unauthorized"
        assert client.get("/static/app.js").status_code == 401
        assert client.get("/?token=guessed").status_code == 401
    with httpx.Client(base_url=dashboard.base, cookies={COOKIE_NAME: "guessed"}) as client:
        assert client.get("/").status_code == 401


def test_the_login_token_works_once(dashboard: Dashboard) -> None:
    url = dashboard.login_url()
    with httpx.Client() as first, httpx.Client() as second:
        assert first.get(url).status_code == 303
        assert second.get(url).status_code == 401  # the link was used: no second session
        again = first.get(url)  # the same browser opening the used link again: let it in
        assert again.status_code == 303 and "set-cookie" not in again.headers
        assert first.get(url.split("?")[0]).status_code == 200


def test_another_host_name_is_refused(dashboard: Dashboard) -> None:
    # DNS rebinding: a page on evil.example re-points its name at 127.0.0.1.
    with httpx.Client(base_url=dashboard.base) as client:
        response = client.get(dashboard.login_url(), headers={"Host": "evil.example:80"})
        assert response.status_code == 400
        csrf = _login(dashboard, client)
        assert client.get("/", headers={"Host": "evil.example"}).status_code == 400
        assert client.get("/", headers={"X-Csrf": csrf}).status_code == 200


def test_state_changes_need_the_same_origin_and_the_csrf_token(dashboard: Dashboard) -> None:
    [memory_id] = dashboard.seed(["The staging database is on port 5433"])
    with httpx.Client(base_url=dashboard.base) as client:
        csrf = _login(dashboard, client)
        edit = f"/memory/{memory_id}/edit"
        body = {"text": "changed", "_csrf": csrf}
        refused = client.post(edit, data=body, headers={"Origin": "https://evil.example"})
        assert refused.status_code == 403
        assert "other sites" in refused.text
        api = client.post(
            f"/api/memories/{memory_id}",
            json={"text": "changed"},
            headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"},
        )
        assert api.status_code == 403
        assert api.json()["error"]["type"] == "cross_origin"
        no_csrf = client.post(edit, data={"text": "changed"}, headers={"Origin": dashboard.base})
        assert no_csrf.status_code == 403
        wrong = client.post(
            f"/api/memories/{memory_id}", json={"text": "x"}, headers={"X-CSRF-Token": "nope"}
        )
        assert wrong.json()["error"]["type"] == "csrf"
        too_big = client.post(
            f"/api/memories/{memory_id}",
            content=b"x" * (MAX_BODY_BYTES + 1),
            headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"},
        )
        assert too_big.status_code == 413
        assert too_big.json()["error"]["type"] == "too_large"
        # Nothing above changed the memory; the same request from our own page does.
        assert client.get(f"/api/memories/{memory_id}").json()["text"].startswith("The staging")
        ok = client.post(edit, data=body, headers={"Origin": dashboard.base})
        assert ok.status_code == 303
        assert client.get(f"/api/memories/{memory_id}").json()["text"] == "changed"


def test_bad_input_gets_a_typed_error_and_changes_nothing(dashboard: Dashboard) -> None:
    [memory_id] = dashboard.seed(["Releases go out on Thursdays"])
    with httpx.Client(base_url=dashboard.base) as client:
        csrf = _login(dashboard, client)
        missing = client.get("/api/memories/0123456789abcdef")
        assert missing.status_code == 404
        assert missing.json()["error"]["type"] == "MemoryNotFoundError"
        bad_filter = client.get("/api/memories", params={"category": "nonsense"})
        assert bad_filter.status_code == 400
        assert bad_filter.json()["error"]["type"] == "InvalidInputError"
        assert "category must be one of" in bad_filter.json()["error"]["message"]
        on_page = client.get("/", params={"order": "sideways"})
        assert on_page.status_code == 400 and "order must be one of" in on_page.text
        update = client.post(
            f"/api/memories/{memory_id}",
            json={"text": "Releases go out on Fridays", "importance": 7},
            headers={"X-CSRF-Token": csrf},
        )
        assert update.status_code == 400
        assert "importance must be from 0 to 1" in update.json()["error"]["message"]
        long_text = client.post(
            f"/api/memories/{memory_id}",
            json={"text": "word " * 5000},  # 25,000 characters: over the mesh's 20,000
            headers={"X-CSRF-Token": csrf},
        )
        assert long_text.status_code == 413
        assert long_text.json()["error"]["type"] == "TooLargeError"
        edit_page = client.post(
            f"/memory/{memory_id}/edit", data={"text": "word " * 5000, "_csrf": csrf}
        )
        assert edit_page.status_code == 413 and "the limit is 20000" in edit_page.text
        assert "Back to the memories" in edit_page.text  # a way back from the message
        assert client.get(f"/api/memories/{memory_id}").json()["text"] == (
            "Releases go out on Thursdays"
        )


def test_every_response_is_hardened(dashboard: Dashboard) -> None:
    with httpx.Client(base_url=dashboard.base) as client:
        _login(dashboard, client)
        for response in (client.get("/"), client.get("/nowhere"), httpx.get(dashboard.base)):
            policy = response.headers["content-security-policy"]
            assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
            assert response.headers["referrer-policy"] == "same-origin"
            assert response.headers["cache-control"] == "no-store"


def test_secrets_stored_without_the_guard_are_shown_redacted(dashboard: Dashboard) -> None:
    secret = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"

    async def store_raw() -> str:
        # Another program with privacy="allow" stored a token as it was given.
        async with AsyncMemoryMesh(
            dashboard.project, global_path=dashboard.global_db, privacy="allow"
        ) as mesh:
            return (await mesh.remember(f"The deploy token is {secret}")).id

    memory_id = anyio.run(store_raw)
    with httpx.Client(base_url=dashboard.base) as client:
        _login(dashboard, client)
        shown = client.get(f"/api/memories/{memory_id}").json()["text"]
        assert secret not in shown and "[REDACTED:" in shown
        for page in (
            client.get(f"/memory/{memory_id}"),
            client.get("/"),
            client.get("/", params={"q": "deploy token"}),
        ):
            assert page.status_code == 200
            assert secret not in page.text
