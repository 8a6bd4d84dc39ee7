"""Possible conflicts in the dashboard's review queue over plain HTTP: a pair the write kept
both of is shown side by side with "Newer replaces earlier" and "Keep both", and each
action does what it says (the replacement is undoable with restore)."""

from __future__ import annotations

import anyio
import httpx

from .conftest import Dashboard
from .test_security import _login

OLD = "Maria owns the billing service"
NEW = "Maria owns the billing service and its on-call rotation"


def _superseded_by(dashboard: Dashboard, memory_id: str) -> str | None:
    async def read() -> str | None:
        async with dashboard.mesh() as mesh:
            return (await mesh.get(memory_id)).superseded_by

    return anyio.run(read)


def test_a_possible_conflict_is_accepted_as_the_replacement(dashboard: Dashboard) -> None:
    [old] = dashboard.seed([OLD])
    [new] = dashboard.seed([NEW])
    with httpx.Client(base_url=dashboard.base) as client:
        csrf = _login(dashboard, client)
        page = client.get("/review")
        assert page.status_code == 200
        pairs = page.text.split("<h2>Possible conflicts", 1)[1]
        assert f'data-new="{new}" data-old="{old}"' in pairs
        earlier, newer = pairs.split("<h3>Newer", 1)
        assert f"{OLD}</p>" in earlier and f"{NEW}</p>" in newer
        assert f'action="/review/pair/{new}/{old}"' in pairs
        headers = {"Origin": dashboard.base}
        done = client.post(
            f"/review/pair/{new}/{old}",
            data={"action": "replace", "_csrf": csrf},
            headers=headers,
        )
        assert done.status_code == 303
        assert _superseded_by(dashboard, old) == new
        after = client.get("/review").text.split("<h2>Possible conflicts", 1)[1]
        assert "None waiting." in after
        # The same pair again: it is no longer waiting.
        again = client.post(
            f"/review/pair/{new}/{old}",
            data={"action": "replace", "_csrf": csrf},
            headers=headers,
        )
        assert again.status_code == 400


def test_keep_both_settles_the_pair_and_changes_no_memory(dashboard: Dashboard) -> None:
    [old] = dashboard.seed([OLD])
    [new] = dashboard.seed([NEW])
    with httpx.Client(base_url=dashboard.base) as client:
        csrf = _login(dashboard, client)
        headers = {"Origin": dashboard.base}
        bad = client.post(
            f"/review/pair/{new}/{old}", data={"action": "merge", "_csrf": csrf}, headers=headers
        )
        assert bad.status_code == 400
        done = client.post(
            f"/review/pair/{new}/{old}",
            data={"action": "keep_both", "_csrf": csrf},
            headers=headers,
        )
        assert done.status_code == 303
        assert "None waiting." in client.get("/review").text
    assert _superseded_by(dashboard, old) is None
    assert _superseded_by(dashboard, new) is None


def test_a_possible_conflict_across_scopes_is_reviewed_the_same(dashboard: Dashboard) -> None:
    # The earlier memory is global, the newer one the project's: the pair waits on the same
    # page, and replacing makes the global memory history of the project one.
    [old] = dashboard.seed([{"text": OLD, "scope": "global"}])
    [new] = dashboard.seed([{"text": NEW, "scope": "project"}])
    with httpx.Client(base_url=dashboard.base) as client:
        csrf = _login(dashboard, client)
        pairs = client.get("/review").text.split("<h2>Possible conflicts", 1)[1]
        assert f'data-new="{new}" data-old="{old}"' in pairs
        done = client.post(
            f"/review/pair/{new}/{old}",
            data={"action": "replace", "_csrf": csrf},
            headers={"Origin": dashboard.base},
        )
        assert done.status_code == 303
        assert "None waiting." in client.get("/review").text
    assert _superseded_by(dashboard, old) == new
    assert _superseded_by(dashboard, new) is None
