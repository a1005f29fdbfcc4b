"""Profiles and follows over HTTP against a real server."""

from __future__ import annotations

import random

import httpx
import trio

from tests.support.api import assert_error, bearer, register, unique_name


async def test_profile_follow_unfollow(client: httpx.AsyncClient) -> None:
    ann_token, ann = await register(client)
    bob_token, bob = await register(client)
    bob_url = f"/api/users/{bob['username']}"

    profile = (await client.get(bob_url.upper().replace("/API/USERS", "/api/users"))).json()
    assert profile["username"] == bob["username"] and "email" not in profile
    assert profile["followed_by_viewer"] is False

    for _ in range(2):  # idempotent
        answer = await client.post(f"{bob_url}/follow", headers=bearer(ann_token))
        assert answer.status_code == 200 and answer.json() == {"following": True, "requested": False}
    seen_by_ann = (await client.get(bob_url, headers=bearer(ann_token))).json()
    assert seen_by_ann["followers_count"] == 1 and seen_by_ann["followed_by_viewer"] is True
    assert (await client.get(f"/api/users/{ann['username']}")).json()["following_count"] == 1
    seen_by_bob = (await client.get(f"/api/users/{ann['username']}", headers=bearer(bob_token))).json()
    assert seen_by_bob["followed_by_viewer"] is False

    for _ in range(2):
        answer = await client.delete(f"{bob_url}/follow", headers=bearer(ann_token))
        assert answer.status_code == 200 and answer.json() == {"following": False, "requested": False}
    profile = (await client.get(bob_url, headers=bearer(ann_token))).json()
    assert profile["followers_count"] == 0 and profile["followed_by_viewer"] is False


async def test_follow_errors(client: httpx.AsyncClient) -> None:
    token, me = await register(client)
    assert_error(await client.post(f"/api/users/{me['username']}/follow", headers=bearer(token)), 422)
    assert_error(await client.post("/api/users/nobody_at_all_x/follow", headers=bearer(token)), 404)
    assert_error(await client.post(f"/api/users/{me['username']}/follow"), 401)
    assert_error(await client.get("/api/users/nobody_at_all_x"), 404, "not_found")
    assert_error(await client.get("/api/users/bad%20name!"), 404)


async def test_follower_lists_page_with_cursors(client: httpx.AsyncClient) -> None:
    star_token, star = await register(client)
    fans = [await register(client) for _ in range(7)]
    for token, _ in fans:
        await client.post(f"/api/users/{star['username']}/follow", headers=bearer(token))
    # the star follows back two of them, to check followed_by_viewer inside lists
    for _, fan in fans[:2]:
        await client.post(f"/api/users/{fan['username']}/follow", headers=bearer(star_token))

    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = await client.get(
            f"/api/users/{star['username']}/followers", params=params, headers=bearer(star_token)
        )
        assert page.status_code == 200
        body = page.json()
        assert len(body["users"]) <= 3
        seen += [u["username"] for u in body["users"]]
        for user in body["users"]:
            expected = user["username"] in {fans[0][1]["username"], fans[1][1]["username"]}
            assert user["followed_by_viewer"] is expected
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [fan["username"] for _, fan in reversed(fans)]  # most recent follow first

    following = (await client.get(f"/api/users/{fans[0][1]['username']}/following")).json()
    assert [u["username"] for u in following["users"]] == [star["username"]]
    assert following["next_cursor"] is None


async def test_list_parameters_are_checked(client: httpx.AsyncClient) -> None:
    _, user = await register(client)
    url = f"/api/users/{user['username']}/followers"
    assert_error(await client.get(url, params={"cursor": "garbage!!"}), 400, "invalid_cursor")
    assert_error(await client.get(url, params={"cursor": "AAAAAAAAAAAAAAAAAAAAAA"}), 400)
    for limit in ("0", "101", "ten"):
        error = assert_error(await client.get(url, params={"limit": limit}), 422)
        assert error["message"].startswith("limit")
    # a cursor from one list is refused by another
    fans = [await register(client) for _ in range(2)]
    for token, _ in fans:
        await client.post(f"/api/users/{user['username']}/follow", headers=bearer(token))
    cursor = (await client.get(url, params={"limit": 1})).json()["next_cursor"]
    assert cursor
    other = f"/api/users/{user['username']}/following"
    assert_error(await client.get(other, params={"cursor": cursor}), 400, "invalid_cursor")


async def test_concurrent_follow_storm_keeps_counts_exact(client: httpx.AsyncClient) -> None:
    """Many users follow and unfollow each other at once; counters equal the real edges."""
    users = [await register(client, unique_name("storm")) for _ in range(12)]
    names = [u["username"] for _, u in users]
    rng = random.Random(7)

    async def storm(token: str, me: str) -> None:
        for _ in range(25):
            target = rng.choice([n for n in names if n != me])
            method = client.post if rng.random() < 0.6 else client.delete
            answer = await method(f"/api/users/{target}/follow", headers=bearer(token))
            assert answer.status_code == 200

    with trio.fail_after(120):
        async with trio.open_nursery() as nursery:
            for token, user in users:
                nursery.start_soon(storm, token, user["username"])
                nursery.start_soon(storm, token, user["username"])  # two devices each

    async def all_of(url: str) -> list[str]:
        names_seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            body = (await client.get(url, params=params)).json()
            names_seen += [u["username"] for u in body["users"]]
            cursor = body["next_cursor"]
            if cursor is None:
                return names_seen

    total_followers = total_following = 0
    for name in names:
        profile = (await client.get(f"/api/users/{name}")).json()
        followers = await all_of(f"/api/users/{name}/followers")
        following = await all_of(f"/api/users/{name}/following")
        assert profile["followers_count"] == len(followers) == len(set(followers))
        assert profile["following_count"] == len(following) == len(set(following))
        total_followers += len(followers)
        total_following += len(following)
    assert total_followers == total_following
