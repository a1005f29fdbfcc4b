"""Accounts over HTTP against a real server: register, login, logout, /api/me, errors."""

from __future__ import annotations

import httpx
import pytest

from tests.support.api import assert_error, bearer, register, unique_name


async def test_register_login_me_logout(client: httpx.AsyncClient) -> None:
    name = unique_name("Alice")
    token, user = await register(client, name)
    assert user["username"] == name.lower()
    assert user["email"] == f"{name.lower()}@example.com"
    assert user["user_id"].isdigit() and int(user["user_id"]) < 2**63
    assert user["followers_count"] == user["following_count"] == user["posts_count"] == 0
    assert user["profile_pic"] is None and user["followed_by_viewer"] is False
    assert len(token) >= 43

    me = await client.get("/api/me", headers=bearer(token))
    assert me.status_code == 200 and me.json() == user

    by_name = await client.post("/api/auth/login", json={"login": name.upper(), "password": "correct horse"})
    assert by_name.status_code == 200
    by_email = await client.post(
        "/api/auth/login", json={"login": f"{name}@EXAMPLE.com", "password": "correct horse"}
    )
    assert by_email.status_code == 200
    second_token = by_email.json()["token"]
    assert second_token not in (token, by_name.json()["token"])

    out = await client.post("/api/auth/logout", headers=bearer(token))
    assert out.status_code == 204
    assert_error(await client.get("/api/me", headers=bearer(token)), 401, "invalid_token")
    # other sessions of the same account stay signed in
    assert (await client.get("/api/me", headers=bearer(second_token))).status_code == 200


async def test_patch_me(client: httpx.AsyncClient) -> None:
    token, _ = await register(client)
    patched = await client.patch("/api/me", headers=bearer(token), json={"bio": "hi there"})
    assert patched.status_code == 200
    assert patched.json()["bio"] == "hi there" and patched.json()["display_name"] == ""
    patched = await client.patch("/api/me", headers=bearer(token), json={"display_name": "Al"})
    assert patched.json()["bio"] == "hi there" and patched.json()["display_name"] == "Al"
    error = assert_error(
        await client.patch("/api/me", headers=bearer(token), json={"bio": "x" * 151}), 422
    )
    assert "bio" in error["message"]
    assert (await client.get("/api/me", headers=bearer(token))).json()["bio"] == "hi there"


async def test_a_username_needs_a_letter_or_digit_and_may_have_dots(client: httpx.AsyncClient) -> None:
    name = unique_name("_.x")
    _, user = await register(client, name)
    assert (await client.get(f"/api/users/{name}")).json()["user_id"] == user["user_id"]


@pytest.mark.parametrize(("body", "field", "found"), [
    ({"bio": "hi\u0000there"}, "bio", "U+0000"),
    ({"bio": "bell\u0007"}, "bio", "U+0007"),
    ({"display_name": "Al\u0000"}, "display_name", "U+0000"),
    ({"display_name": "two\nlines"}, "display_name", "U+000A"),
    ({"display_name": "evil\u202egnp.exe"}, "display_name", "U+202E"),
    ({"display_name": "\u2067isolate"}, "display_name", "U+2067"),
])
async def test_patch_me_refuses_control_characters(
        client: httpx.AsyncClient, body: dict[str, str], field: str, found: str) -> None:
    token, _ = await register(client)
    error = assert_error(await client.patch("/api/me", headers=bearer(token), json=body),
                         422, "invalid_field")
    assert error["message"].startswith(f"{field}:") and found in error["message"]
    me = (await client.get("/api/me", headers=bearer(token))).json()
    assert me["bio"] == me["display_name"] == "", "nothing was stored"


async def test_patch_me_keeps_line_breaks_in_a_bio_and_right_to_left_names(
        client: httpx.AsyncClient) -> None:
    token, _ = await register(client)
    body = {"bio": "line one\r\nline two\tend", "display_name": "\u05e9\u05dc\u05d5\u05dd Al"}
    patched = await client.patch("/api/me", headers=bearer(token), json=body)
    assert patched.status_code == 200, patched.text
    assert {k: patched.json()[k] for k in body} == body


async def test_usernames_are_unique_case_insensitively(client: httpx.AsyncClient) -> None:
    name = unique_name("dup")
    await register(client, name)
    again = await client.post("/api/auth/register", json={
        "username": name.upper(), "email": f"other{name}@example.com", "password": "long enough",
    })
    assert_error(again, 409, "username_taken")
    same_email = await client.post("/api/auth/register", json={
        "username": unique_name(), "email": f"{name.upper()}@example.com", "password": "long enough",
    })
    assert_error(same_email, 409, "email_taken")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "has space", "email": "a@b.io", "password": "long enough"}, "username"),
        ({"username": "", "email": "a@b.io", "password": "long enough"}, "username"),
        ({"username": "a" * 31, "email": "a@b.io", "password": "long enough"}, "username"),
        ({"username": "émile", "email": "a@b.io", "password": "long enough"}, "username"),
        ({"username": "okname", "email": "not-an-email", "password": "long enough"}, "email"),
        ({"username": "okname", "email": "a@b.io", "password": "short"}, "password"),
        ({"username": "okname", "email": "a@b.io"}, "password"),
        ({"username": 12, "email": "a@b.io", "password": "long enough"}, "username"),
        # only dots and underscores: unreachable once clients collapse /api/users/..
        ({"username": ".", "email": "a@b.io", "password": "long enough"}, "username"),
        ({"username": "..", "email": "a@b.io", "password": "long enough"}, "username"),
        ({"username": "_", "email": "a@b.io", "password": "long enough"}, "username"),
        ({"username": "._.", "email": "a@b.io", "password": "long enough"}, "username"),
        ({"username": "ok\u202ename", "email": "a@b.io", "password": "long enough"}, "username"),
        ({"username": "okname", "email": "a\u0000b@b.io", "password": "long enough"}, "email"),
        ({"username": "okname", "email": "a\u007fb@b.io", "password": "long enough"}, "email"),
    ],
)
async def test_register_validation_names_the_field(
    client: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    error = assert_error(await client.post("/api/auth/register", json=body), 422, "invalid_field")
    assert error["message"].startswith(field)


async def test_wrong_password_and_unknown_login(client: httpx.AsyncClient) -> None:
    _, user = await register(client)
    wrong = await client.post("/api/auth/login", json={"login": user["username"], "password": "nope nope"})
    assert_error(wrong, 401, "invalid_credentials")
    unknown = await client.post("/api/auth/login", json={"login": unique_name(), "password": "nope nope"})
    assert_error(unknown, 401, "invalid_credentials")


async def test_auth_required_and_bad_tokens(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/me"), 401, "not_authenticated")
    assert_error(await client.post("/api/auth/logout"), 401, "not_authenticated")
    assert_error(await client.get("/api/me", headers=bearer("forged")), 401, "invalid_token")
    assert_error(await client.get("/api/me", headers={"Authorization": "Basic abc"}), 401)


async def test_framework_errors_are_json(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/nothing-here"), 404, "not_found")
    assert_error(await client.delete("/api/auth/register"), 405, "method_not_allowed")
    malformed = await client.post(
        "/api/auth/register", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(malformed, 400, "malformed_json")
    not_object = await client.post("/api/auth/register", json=[1, 2])
    assert_error(not_object, 400)
    no_type = await client.post("/api/auth/register", content=b"hello")
    assert_error(no_type, 400)
    huge = await client.post(
        "/api/auth/register", content=b"x" * (2 * 1024 * 1024),
        headers={"Content-Type": "application/json"},
    )
    assert_error(huge, 413)


async def test_openapi_and_docs(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/auth/register", "/api/auth/login", "/api/me", "/api/users/{username}",
                 "/api/users/{username}/follow", "/api/users/{username}/followers"):
        assert path in spec["paths"], path
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]


async def test_health_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {
        "metadata": "ok", "redis": "ok", "blobs": "ok", "media_queue": "ok"}
    assert ready.json()["media_queue_depth"] >= 0
