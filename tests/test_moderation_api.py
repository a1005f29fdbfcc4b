"""Roles, reports, the moderators' queue and actions, suspension and the audit log, through
the API of real server processes (and the real `pixtrio admin` command)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from pixtrio.protocol.messages import CloseCode, PostDeleted
from pixtrio.testing.server_process import ServerProcess, two_servers
from tests.support.api import admin_cli, assert_error, bearer, register, staff
from tests.support.images import jpeg
from tests.support.posts import post_photo
from tests.support.ws import connect

pytestmark = pytest.mark.slow


async def audit_log(client: httpx.AsyncClient, token: str, limit: int = 20) -> list[dict[str, Any]]:
    answer = await client.get("/api/mod/audit", headers=bearer(token), params={"limit": limit})
    assert answer.status_code == 200, answer.text
    return answer.json()["actions"]  # type: ignore[no-any-return]


async def test_only_moderators_reach_the_mod_routes_and_the_cli_grants_roles(
        client: httpx.AsyncClient, live_server: ServerProcess) -> None:
    token, user = await register(client)
    assert_error(await client.get("/api/mod/reports"), 401, "not_authenticated")
    for method, path in [("GET", "/api/mod/reports"), ("GET", "/api/mod/audit"),
                         ("DELETE", "/api/mod/posts/1"), ("DELETE", "/api/mod/comments/1"),
                         ("POST", f"/api/mod/users/{user['username']}/unsuspend")]:
        answer = await client.request(method, path, headers=bearer(token), json={})
        assert_error(answer, 403, "forbidden")

    assert (await client.get("/api/me", headers=bearer(token))).json()["role"] == "user"
    granted = await admin_cli(live_server.data_dir, "grant", user["username"], "--role",
                              "moderator")
    assert granted.returncode == 0, granted.stderr
    assert (await client.get("/api/me", headers=bearer(token))).json()["role"] == "moderator"
    # The role is the signed-in user's own business: nobody else's view of them has it.
    onlooker, _ = await register(client)
    seen = await client.get(f"/api/users/{user['username']}", headers=bearer(onlooker))
    assert "role" not in seen.json() and "email" not in seen.json()
    assert (await client.get("/api/mod/reports", headers=bearer(token))).status_code == 200
    grant = (await audit_log(client, token))[0]
    assert (grant["action"], grant["target_id"], grant["details"], grant["actor"]) == (
        "role.grant", user["user_id"], "moderator", None)
    other_token, other = await register(client)  # a moderator hands out no roles
    assert_error(await client.post(f"/api/mod/users/{other['username']}/role",
                                   headers=bearer(token), json={"role": "moderator"}), 403)

    admin_token, admin = await staff(client, live_server.data_dir, "admin")
    made = await client.post(f"/api/mod/users/{other['username']}/role",
                             headers=bearer(admin_token), json={"role": "moderator"})
    assert made.status_code == 200 and made.json()["username"] == other["username"]
    assert (await client.get("/api/mod/audit", headers=bearer(other_token))).status_code == 200
    grant = (await audit_log(client, admin_token))[0]
    assert (grant["action"], grant["actor"]["username"]) == ("role.grant", admin["username"])

    revoked = await admin_cli(live_server.data_dir, "revoke", user["username"])
    assert revoked.returncode == 0, revoked.stderr
    assert_error(await client.get("/api/mod/reports", headers=bearer(token)), 403, "forbidden")
    unknown = await admin_cli(live_server.data_dir, "grant", "nobody_at_all_here")
    assert unknown.returncode == 1 and b"not found" in unknown.stderr


async def test_reports_are_checked_queued_open_first_and_resolved_once(
        client: httpx.AsyncClient, live_server: ServerProcess) -> None:
    mod_token, _ = await staff(client, live_server.data_dir)
    author_token, author = await register(client)
    reporter_token, reporter = await register(client)
    post = await post_photo(client, author_token, jpeg(64, 48), caption="cheap pills")
    comment = (await client.post(f"/api/posts/{post['post_id']}/comments",
                                 headers=bearer(author_token), json={"text": "buy now"})).json()

    async def report(target: str, id_: str, reason: str = "spam", **more: Any) -> httpx.Response:
        return await client.post("/api/reports", headers=bearer(reporter_token),
                                 json={"target": target, "id": id_, "reason": reason, **more})

    assert_error(await client.post("/api/reports", json={"target": "post", "id": "1",
                                                         "reason": "spam"}), 401)
    assert_error(await report("post", "1"), 404, "not_found")
    assert_error(await report("post", "١٢"), 404, "not_found")  # digits, but not ASCII
    assert_error(await report("comment", post["post_id"]), 404)
    assert_error(await report("post", post["post_id"], reason="boring"), 422, "invalid_field")
    assert_error(await report("post", post["post_id"], text="x" * 1001), 422)
    assert_error(await report("planet", post["post_id"]), 422)

    on_post = await report("post", post["post_id"], text="selling pills")
    assert on_post.status_code == 201, on_post.text
    filed = on_post.json()
    assert (filed["target"], filed["id"], filed["reason"], filed["text"], filed["status"]) == (
        "post", post["post_id"], "spam", "selling pills", "open")
    on_comment = (await report("comment", comment["comment_id"], "harassment")).json()
    on_user = (await report("user", author["user_id"], "other")).json()

    dismissed = await client.post(f"/api/mod/reports/{on_user['report_id']}/resolve",
                                  headers=bearer(mod_token), json={"action": "dismiss"})
    assert dismissed.status_code == 200 and dismissed.json()["resolution"] == "dismiss"
    assert_error(await client.post(f"/api/mod/reports/{on_user['report_id']}/resolve",
                                   headers=bearer(mod_token), json={"action": "suspend"}),
                 409, "already_resolved")
    assert_error(await client.post("/api/mod/reports/1/resolve", headers=bearer(mod_token),
                                   json={"action": "dismiss"}), 404)
    assert_error(await client.post(f"/api/mod/reports/{on_comment['report_id']}/resolve",
                                   headers=bearer(mod_token), json={"action": "ban"}), 422)

    queue: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        answer = await client.get("/api/mod/reports", headers=bearer(mod_token),
                                  params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        queue += answer.json()["reports"]
        if (cursor := answer.json()["next_cursor"]) is None:
            break
    statuses = [r["status"] for r in queue]
    assert statuses == sorted(statuses, key=lambda s: s != "open")  # open ones first
    mine = {r["report_id"]: r for r in queue}
    assert [r for r in mine if r in (filed["report_id"], on_comment["report_id"])] == [
        on_comment["report_id"], filed["report_id"]]  # newest first
    assert mine[on_user["report_id"]]["status"] == "resolved"
    summary = mine[on_comment["report_id"]]["summary"]
    assert (summary["exists"], summary["text"], summary["post_id"], summary["owner"]["username"],
            summary["owner_suspended"]) == (True, "buy now", post["post_id"], author["username"],
                                            False)
    assert mine[filed["report_id"]]["reporter"]["username"] == reporter["username"]
    assert mine[filed["report_id"]]["summary"]["text"] == "cheap pills"


async def test_moderators_remove_posts_and_comments_everywhere(
        client: httpx.AsyncClient, live_server: ServerProcess) -> None:
    mod_token, mod = await staff(client, live_server.data_dir)
    author_token, author = await register(client)
    fan_token, _ = await register(client)
    await client.post(f"/api/users/{author['username']}/follow", headers=bearer(fan_token))
    reported = await post_photo(client, author_token, jpeg(64, 48))
    other = await post_photo(client, author_token, jpeg(48, 64))
    report = (await client.post("/api/reports", headers=bearer(fan_token), json={
        "target": "post", "id": reported["post_id"], "reason": "nudity"})).json()

    async with connect(live_server.url, fan_token) as fan_ws:
        resolved = await client.post(f"/api/mod/reports/{report['report_id']}/resolve",
                                     headers=bearer(mod_token), json={"action": "remove"})
        assert resolved.status_code == 200, resolved.text
        assert (await fan_ws.next_of(PostDeleted)).post_id == reported["post_id"]
        assert_error(await client.get(f"/api/posts/{reported['post_id']}"), 404)

        gone = await client.delete(f"/api/mod/posts/{other['post_id']}", headers=bearer(mod_token))
        assert gone.status_code == 204
        assert (await fan_ws.next_of(PostDeleted)).post_id == other["post_id"]
    assert_error(await client.get(f"/api/posts/{other['post_id']}"), 404)
    feed = (await client.get("/api/feed", headers=bearer(fan_token))).json()["posts"]
    assert not {reported["post_id"], other["post_id"]} & {p["post_id"] for p in feed}
    assert_error(await client.delete(f"/api/mod/posts/{other['post_id']}",
                                     headers=bearer(mod_token)), 404)
    assert_error(await client.delete("/api/mod/posts/x1", headers=bearer(mod_token)), 404)

    kept = await post_photo(client, author_token, jpeg(40, 40))
    comment = (await client.post(f"/api/posts/{kept['post_id']}/comments",
                                 headers=bearer(fan_token), json={"text": "rude"})).json()
    removed = await client.delete(f"/api/mod/comments/{comment['comment_id']}",
                                  headers=bearer(mod_token))
    assert removed.status_code == 204
    listed = (await client.get(f"/api/posts/{kept['post_id']}/comments")).json()["comments"]
    assert comment["comment_id"] not in [c["comment_id"] for c in listed]
    assert (await client.get(f"/api/posts/{kept['post_id']}")).json()["comment_count"] == 0
    assert_error(await client.delete(f"/api/mod/comments/{comment['comment_id']}",
                                     headers=bearer(mod_token)), 404)

    actions = await audit_log(client, mod_token, limit=100)
    by_me = [(a["action"], a["target_id"]) for a in actions
             if a["actor"] and a["actor"]["username"] == mod["username"]]
    assert by_me == [("comment.remove", comment["comment_id"]),
                     ("post.remove", other["post_id"]),
                     ("report.resolve", reported["post_id"]),
                     ("post.remove", reported["post_id"])]
    paged = await client.get("/api/mod/audit", headers=bearer(mod_token), params={"limit": 1})
    assert len(paged.json()["actions"]) == 1 and paged.json()["next_cursor"]


async def test_suspension_signs_out_hides_content_and_unsuspend_restores_it(
        client: httpx.AsyncClient, live_server: ServerProcess) -> None:
    mod_token, mod = await staff(client, live_server.data_dir)
    admin_token, admin = await staff(client, live_server.data_dir, "admin")
    token, user = await register(client)
    name = user["username"]
    fan_token, _ = await register(client)
    assert (await client.post(f"/api/users/{name}/follow", headers=bearer(fan_token))).status_code == 200
    post = await post_photo(client, token, jpeg(64, 48))

    async def in_fans_feed() -> bool:
        feed = (await client.get("/api/feed", headers=bearer(fan_token))).json()["posts"]
        return post["post_id"] in [p["post_id"] for p in feed]

    assert await in_fans_feed()
    async with connect(live_server.url, token) as ws:
        suspended = await client.post(f"/api/mod/users/{name}/suspend",
                                      headers=bearer(mod_token), json={"reason": "spam"})
        assert suspended.status_code == 204, suspended.text
        assert await ws.closed_with(within=1) == CloseCode.UNAUTHENTICATED
    assert_error(await client.get("/api/me", headers=bearer(token)), 401, "invalid_token")
    async with connect(live_server.url, token, hello=False) as again:
        assert await again.closed_with() == CloseCode.UNAUTHENTICATED
    login = await client.post("/api/auth/login", json={"login": name, "password": "correct horse"})
    assert_error(login, 403, "suspended")
    wrong = await client.post("/api/auth/login", json={"login": name, "password": "wrong horse"})
    assert_error(wrong, 401)
    for path in (f"/api/users/{name}", f"/api/users/{name}/posts", f"/api/posts/{post['post_id']}",
                 f"/api/posts/{post['post_id']}/comments"):
        assert_error(await client.get(path, headers=bearer(mod_token)), 404, "not_found")
    assert_error(await client.post("/api/reports", headers=bearer(mod_token), json={
        "target": "user", "id": user["user_id"], "reason": "spam"}), 404)
    assert not await in_fans_feed()  # already in the fan's timeline, hidden at read time

    assert_error(await client.post(f"/api/mod/users/{mod['username']}/suspend",
                                   headers=bearer(mod_token), json={}), 422)
    assert_error(await client.post(f"/api/mod/users/{name}/unsuspend", headers=bearer(mod_token),
                                   json={"reason": "bell\x07"}), 422, "invalid_field")
    assert_error(await client.post(f"/api/mod/users/{admin['username']}/suspend",
                                   headers=bearer(mod_token), json={}), 403, "forbidden")
    assert_error(await client.post("/api/mod/users/no_such_user_x/suspend",
                                   headers=bearer(mod_token), json={}), 404)

    lifted = await client.post(f"/api/mod/users/{name}/unsuspend", headers=bearer(admin_token),
                               json={})
    assert lifted.status_code == 204
    assert (await client.get(f"/api/users/{name}")).json()["posts_count"] == 1
    assert (await client.get(f"/api/posts/{post['post_id']}")).json()["post_id"] == post["post_id"]
    assert await in_fans_feed()
    login = await client.post("/api/auth/login", json={"login": name, "password": "correct horse"})
    assert login.status_code == 200
    assert (await client.get("/api/me", headers=bearer(login.json()["token"]))).status_code == 200

    actions = [(a["action"], a["target_id"], a["details"]) for a in await audit_log(client, mod_token)]
    assert actions.index(("user.unsuspend", user["user_id"], "")) < actions.index(
        ("user.suspend", user["user_id"], "spam"))


async def test_resolving_a_report_with_suspend_suspends_the_author(
        client: httpx.AsyncClient, live_server: ServerProcess) -> None:
    mod_token, _ = await staff(client, live_server.data_dir)
    author_token, author = await register(client)
    reporter_token, _ = await register(client)
    post = await post_photo(client, author_token, jpeg(64, 48))
    comment = (await client.post(f"/api/posts/{post['post_id']}/comments",
                                 headers=bearer(author_token), json={"text": "hate"})).json()
    report = (await client.post("/api/reports", headers=bearer(reporter_token), json={
        "target": "comment", "id": comment["comment_id"], "reason": "hate"})).json()
    resolved = await client.post(f"/api/mod/reports/{report['report_id']}/resolve",
                                 headers=bearer(mod_token), json={"action": "suspend"})
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    assert_error(await client.get(f"/api/users/{author['username']}"), 404)
    assert_error(await client.get("/api/me", headers=bearer(author_token)), 401)


async def test_suspension_closes_sockets_on_another_process_within_a_second(
        tmp_path: Path) -> None:
    """Two server processes share one Valkey (the first's) and one SQLite store (one data
    directory, WAL): the suspend call goes to the first, the socket is held by the second."""
    data = tmp_path / "data"
    with two_servers(data) as (first, second):
        async with httpx.AsyncClient(base_url=first.url, timeout=30) as one:
            mod_token, _ = await staff(one, first.data_dir)
            token, user = await register(one)
            async with connect(second.url, token) as ws:
                answer = await one.post(f"/api/mod/users/{user['username']}/suspend",
                                        headers=bearer(mod_token), json={})
                assert answer.status_code == 204, answer.text
                assert await ws.closed_with(within=1) == CloseCode.UNAUTHENTICATED
