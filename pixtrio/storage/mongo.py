"""MongoDB metadata adapter on PyMongo's synchronous client.

Every driver call runs in `trio.to_thread.run_sync` behind one `trio.CapacityLimiter` and is
never abandoned (only a cancelled close, past `CLOSE_SECONDS`, is left to its thread): on cancellation the call (including every step of a multi-step write, which
always runs inside one thread call) finishes first, then `trio.Cancelled` propagates. Each
call runs under `pymongo.timeout` set to what is left of the caller's trio deadline (at most
`CALL_SECONDS`), so even while MongoDB hangs a call ends by that deadline, with a
`StorageError` or the caller's cancellation.

There are no multi-document transactions: counters (`followers_count`, `following_count`,
`posts_count`, `comment_count`) are kept exact by bumping them only after the write that justifies them
succeeded (a unique-index insert, a `delete_one` that deleted, a `find_one_and_update` that
saw the previous status). Concurrent callers therefore never double-count; a process crash
between the two writes can still leave one counter off.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import pymongo
import trio
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.collection import Collection as MongoCollection
from pymongo.errors import DuplicateKeyError, PyMongoError

from pixtrio.storage.errors import Conflict, StorageError
from pixtrio.storage.types import (
    AuditEntry,
    Comment,
    HashBlock,
    HashMatch,
    NewUser,
    Page,
    Post,
    PostHashes,
    PostStatus,
    Relation,
    Report,
    ReportStatus,
    Role,
    Token,
    User,
    ms_from_utc,
    relations_from,
    utc_from_ms,
)

R = TypeVar("R")
Doc = dict[str, Any]

DEFAULT_DATABASE = "pixtrio"
CALL_SECONDS = 30.0
"""Longest a driver call may take when its caller set no shorter trio deadline."""
MIN_CALL_SECONDS = 0.001
"""`pymongo.timeout` of a caller whose deadline has (just) passed: fail at once."""
CLOSE_SECONDS = 5.0
"""Seconds a cancelled close waits for the client (shielded) before leaving it to its thread."""
POST_PLAIN_FIELDS = {"caption", "location", "alt_text", "hashtags", "media", "failure_reason"}


def _user(doc: Mapping[str, Any]) -> User:
    return User(
        user_id=doc["_id"],
        username=doc["username"],
        email=doc["email"],
        password_hash=doc["password_hash"],
        display_name=doc["display_name"],
        bio=doc["bio"],
        profile_pic=doc["profile_pic"],
        followers_count=doc["followers_count"],
        following_count=doc["following_count"],
        posts_count=doc["posts_count"],
        created_at=utc_from_ms(doc["created_at"]),
        role=doc.get("role", "user"),
        suspended=doc.get("suspended", False),
        is_private=bool(doc.get("is_private", False)),
    )


def _post(doc: Mapping[str, Any]) -> Post:
    return Post(
        post_id=doc["_id"],
        author_id=doc["author_id"],
        kind=doc["kind"],
        status=doc["status"],
        caption=doc["caption"],
        location=doc["location"],
        alt_text=doc["alt_text"],
        hashtags=tuple(doc["hashtags"]),
        media=dict(doc["media"]),
        failure_reason=doc["failure_reason"],
        like_count=doc["like_count"],
        comment_count=doc["comment_count"],
        created_at=utc_from_ms(doc["created_at"]),
    )


def _token(doc: Mapping[str, Any]) -> Token:
    """A stored token; one stored before sessions were named gets a new `session_id`
    (which the caller stores)."""
    last_used = doc.get("last_used_at")
    named = {"session_id": doc["session_id"]} if "session_id" in doc else {}
    return Token(
        token_hash=doc["_id"],
        user_id=doc["user_id"],
        created_at=utc_from_ms(doc["created_at"]),
        last_used_at=utc_from_ms(last_used) if last_used is not None else None,
        user_agent=doc.get("user_agent", ""),
        ip=doc.get("ip", ""),
        **named,
    )


def _comment(doc: Mapping[str, Any]) -> Comment:
    return Comment(
        comment_id=doc["_id"],
        post_id=doc["post_id"],
        author_id=doc["author_id"],
        text=doc["text"],
        hashtags=tuple(doc["hashtags"]),
        mentions=tuple(doc["mentions"]),
        created_at=utc_from_ms(doc["created_at"]),
    )


def _report(doc: Mapping[str, Any]) -> Report:
    return Report(
        report_id=doc["_id"],
        reporter_id=doc["reporter_id"],
        target=doc["target"],
        target_id=doc["target_id"],
        reason=doc["reason"],
        text=doc["text"],
        created_at=utc_from_ms(doc["created_at"]),
        status=doc["status"],
        resolution=doc["resolution"],
        resolved_by=doc["resolved_by"],
        resolved_at=utc_from_ms(doc["resolved_at"]) if doc["resolved_at"] is not None else None,
    )


def _audit_entry(doc: Mapping[str, Any]) -> AuditEntry:
    return AuditEntry(
        action_id=doc["_id"],
        actor_id=doc["actor_id"],
        action=doc["action"],
        target_kind=doc["target_kind"],
        target_id=doc["target_id"],
        details=doc["details"],
        created_at=utc_from_ms(doc["created_at"]),
    )


def _hash_block(doc: Mapping[str, Any]) -> HashBlock:
    return HashBlock(
        block_id=doc["_id"],
        pdq=doc["pdq"],
        variants=tuple(doc["variants"]),
        source=doc["source"],
        note=doc["note"],
        added_by=doc["added_by"],
        post_id=doc["post_id"],
        created_at=utc_from_ms(doc["created_at"]),
    )


def _hash_match(doc: Mapping[str, Any]) -> HashMatch:
    return HashMatch(
        match_id=doc["_id"],
        block_id=doc["block_id"],
        distance=doc["distance"],
        user_id=doc["user_id"],
        post_id=doc["post_id"],
        created_at=utc_from_ms(doc["created_at"]),
    )


def _post_doc(post: Post) -> Doc:
    return {
        "_id": post.post_id,
        "author_id": post.author_id,
        "kind": post.kind,
        "status": post.status,
        "caption": post.caption,
        "location": post.location,
        "alt_text": post.alt_text,
        "hashtags": list(post.hashtags),
        "media": dict(post.media),
        "failure_reason": post.failure_reason,
        "like_count": post.like_count,
        "comment_count": post.comment_count,
        "created_at": ms_from_utc(post.created_at),
    }


class MongoStore:
    """`MetadataStore` on one MongoDB database.

    Open with `await MongoStore.open(client, database)` or `await MongoStore.connect(url)`.
    The store owns the client from then on: `aclose()` closes it.
    """

    name = "mongodb"
    operations = 0

    def __init__(self, client: pymongo.MongoClient[Doc], database: str, *, threads: int = 8):
        self._client = client
        db = client[database]
        self._users: MongoCollection[Doc] = db["users"]
        self._tokens: MongoCollection[Doc] = db["tokens"]
        self._follows: MongoCollection[Doc] = db["follows"]
        self._posts: MongoCollection[Doc] = db["posts"]
        self._likes: MongoCollection[Doc] = db["likes"]
        self._comments: MongoCollection[Doc] = db["comments"]
        self._reports: MongoCollection[Doc] = db["reports"]
        self._audit: MongoCollection[Doc] = db["audit_log"]
        self._hash_blocks: MongoCollection[Doc] = db["hash_blocks"]
        self._hash_matches: MongoCollection[Doc] = db["hash_matches"]
        self._post_hashes: MongoCollection[Doc] = db["post_hashes"]
        self._relations: MongoCollection[Doc] = db["user_relations"]
        self._limiter = trio.CapacityLimiter(threads)
        self._closed = False

    @classmethod
    async def open(
        cls, client: pymongo.MongoClient[Doc], database: str, *, threads: int = 8
    ) -> MongoStore:
        """A store on `database` of `client` (any PyMongo-compatible client), indexes created.

        At most `threads` driver calls run at once. Raises `StorageError` if the indexes
        cannot be created; the client is then still the caller's.
        """
        store = cls(client, database, threads=threads)
        await store._run(store._create_indexes)
        return store

    @classmethod
    async def connect(cls, url: str, *, threads: int = 8) -> MongoStore:
        """A store on the database named in `url` (default "pixtrio"), with a new client."""

        def make_client() -> tuple[pymongo.MongoClient[Doc], str]:
            # Building a client can block (mongodb+srv:// resolves DNS).
            client: pymongo.MongoClient[Doc] = pymongo.MongoClient(url)
            return client, client.get_default_database(DEFAULT_DATABASE).name

        try:
            client, database = await trio.to_thread.run_sync(make_client)
        except PyMongoError as exc:
            raise StorageError(f"mongodb: {exc}") from None
        try:
            return await cls.open(client, database, threads=threads)
        except BaseException:
            with trio.move_on_after(CLOSE_SECONDS, shield=True):
                await trio.to_thread.run_sync(client.close, abandon_on_cancel=True)
            raise

    def _create_indexes(self) -> None:
        self._users.create_index("username", unique=True)
        self._users.create_index("email", unique=True)
        self._users.create_index("suspended", partialFilterExpression={"suspended": True})
        self._users.create_index("is_private", partialFilterExpression={"is_private": True})
        self._tokens.create_index("user_id")
        self._tokens.create_index("session_id", unique=True, sparse=True)
        self._follows.create_index([("follower_id", ASCENDING), ("followee_id", ASCENDING)],
                                   unique=True)
        self._follows.create_index([("followee_id", ASCENDING), ("edge_id", DESCENDING)])
        self._follows.create_index([("follower_id", ASCENDING), ("edge_id", DESCENDING)])
        self._posts.create_index([("author_id", ASCENDING), ("_id", DESCENDING)])
        self._posts.create_index([("status", ASCENDING), ("created_at", ASCENDING)])
        # multikey: one entry per hashtag of a post
        self._posts.create_index([("hashtags", ASCENDING), ("status", ASCENDING),
                                  ("_id", DESCENDING)])
        self._likes.create_index([("post_id", ASCENDING), ("user_id", ASCENDING)], unique=True)
        self._likes.create_index([("user_id", ASCENDING), ("post_id", ASCENDING)])
        self._comments.create_index([("post_id", ASCENDING), ("_id", ASCENDING)])
        self._comments.create_index([("author_id", ASCENDING), ("_id", ASCENDING)])
        self._reports.create_index([("status", ASCENDING), ("_id", DESCENDING)])
        # follow requests, blocks and mutes, by kind
        self._relations.create_index([("from_id", ASCENDING), ("to_id", ASCENDING),
                                      ("kind", ASCENDING)], unique=True)
        self._relations.create_index([("kind", ASCENDING), ("from_id", ASCENDING),
                                      ("edge_id", DESCENDING)])
        self._relations.create_index([("kind", ASCENDING), ("to_id", ASCENDING),
                                      ("edge_id", DESCENDING)])

    async def _run(self, fn: Callable[[], R]) -> R:
        """Run `fn` in a worker thread under `pymongo.timeout` of the caller's deadline;
        driver errors (a timeout included) become `Conflict` / `StorageError`."""
        if self._closed:
            raise StorageError("mongodb store is closed")
        self.operations += 1
        # the deadline on the monotonic clock, so time spent waiting for a thread counts
        ends = time.monotonic() + min(
            CALL_SECONDS, trio.current_effective_deadline() - trio.current_time())

        def call() -> R:
            with pymongo.timeout(max(ends - time.monotonic(), MIN_CALL_SECONDS)):
                return fn()

        try:
            return await trio.to_thread.run_sync(call, limiter=self._limiter)
        except DuplicateKeyError as exc:
            raise Conflict(_duplicate_key(exc) or "record") from None
        except PyMongoError as exc:
            raise StorageError(f"mongodb: {exc}") from None

    async def ping(self) -> None:
        await self._run(lambda: self._client.admin.command("ping"))

    async def aclose(self) -> None:
        """Close the client once in-flight calls finish; safe to call twice.

        If cancelled while waiting for those calls, the client is closed anyway (shielded,
        waited for at most `CLOSE_SECONDS`), then `trio.Cancelled` propagates.
        """
        if self._closed:
            return
        self._closed = True
        try:
            await trio.to_thread.run_sync(self._client.close, limiter=self._limiter)
        except trio.Cancelled:
            with trio.move_on_after(CLOSE_SECONDS, shield=True):
                await trio.to_thread.run_sync(self._client.close, abandon_on_cancel=True)
            raise

    # users

    async def create_user(self, user: NewUser) -> User:
        doc: Doc = {
            "_id": user.user_id,
            "username": user.username,
            "email": user.email,
            "password_hash": user.password_hash,
            "display_name": "",
            "bio": "",
            "profile_pic": None,
            "followers_count": 0,
            "following_count": 0,
            "posts_count": 0,
            "created_at": ms_from_utc(user.created_at),
            "role": "user",
            "suspended": False,
            "is_private": False,
        }

        def run() -> User:
            try:
                self._users.insert_one(dict(doc))
            except DuplicateKeyError as exc:
                raise Conflict(_id_field(exc, "user_id") or self._taken_user_field(user)) from None
            return _user(doc)

        return await self._run(run)

    def _taken_user_field(self, user: NewUser) -> str:
        """Which unique user field is taken, found by asking (for drivers that do not say)."""
        if self._users.find_one({"_id": user.user_id}, {"_id": 1}) is not None:
            return "user_id"
        if self._users.find_one({"username": user.username}, {"_id": 1}) is not None:
            return "username"
        return "email"

    async def get_user(self, user_id: int) -> User | None:
        return await self._one_user({"_id": user_id})

    async def get_user_by_username(self, username: str) -> User | None:
        return await self._one_user({"username": username})

    async def get_user_by_login(self, login: str) -> User | None:
        return await self._one_user({"$or": [{"username": login}, {"email": login}]})

    async def _one_user(self, query: Doc) -> User | None:
        def run() -> User | None:
            doc = self._users.find_one(query)
            return _user(doc) if doc is not None else None

        return await self._run(run)

    async def get_users(self, user_ids: Collection[int]) -> dict[int, User]:
        ids = list(user_ids)
        if not ids:
            return {}

        def run() -> dict[int, User]:
            return {doc["_id"]: _user(doc) for doc in self._users.find({"_id": {"$in": ids}})}

        return await self._run(run)

    async def update_profile(
        self,
        user_id: int,
        *,
        display_name: str | None = None,
        bio: str | None = None,
        profile_pic: str | None = None,
        is_private: bool | None = None,
    ) -> User | None:
        changes: dict[str, Any] = {
            k: v
            for k, v in (("display_name", display_name), ("bio", bio), ("profile_pic", profile_pic),
                         ("is_private", is_private))
            if v is not None
        }

        def run() -> User | None:
            if changes:
                doc = self._users.find_one_and_update(
                    {"_id": user_id}, {"$set": changes}, return_document=ReturnDocument.AFTER
                )
            else:
                doc = self._users.find_one({"_id": user_id})
            return _user(doc) if doc is not None else None

        return await self._run(run)

    async def set_password_hash(self, user_id: int, password_hash: str) -> bool:
        return await self._run(lambda: self._users.update_one(
            {"_id": user_id}, {"$set": {"password_hash": password_hash}}).matched_count > 0)

    async def delete_user(self, user_id: int) -> bool:
        return await self._run(lambda: self._users.delete_one({"_id": user_id}).deleted_count > 0)

    async def set_role(self, user_id: int, role: Role) -> User | None:
        return await self._set_user_field(user_id, "role", role)

    async def set_suspended(self, user_id: int, suspended: bool) -> User | None:
        return await self._set_user_field(user_id, "suspended", suspended)

    async def _set_user_field(self, user_id: int, name: str, value: object) -> User | None:
        def run() -> User | None:
            doc = self._users.find_one_and_update(
                {"_id": user_id}, {"$set": {name: value}}, return_document=ReturnDocument.AFTER)
            return _user(doc) if doc is not None else None

        return await self._run(run)

    # tokens

    async def create_token(self, token: Token) -> None:
        doc: Doc = {
            "_id": token.token_hash,
            "user_id": token.user_id,
            "created_at": ms_from_utc(token.created_at),
            "session_id": token.session_id,
            "last_used_at": ms_from_utc(token.last_used_at or token.created_at),
            "user_agent": token.user_agent,
            "ip": token.ip,
        }

        def run() -> None:
            try:
                self._tokens.insert_one(doc)
            except DuplicateKeyError as exc:
                raise Conflict(_id_field(exc, "token_hash") or "token_hash") from None

        await self._run(run)

    async def get_token_user(self, token_hash: bytes) -> User | None:
        def run() -> User | None:
            token = self._tokens.find_one({"_id": token_hash}, {"user_id": 1})
            if token is None:
                return None
            doc = self._users.find_one({"_id": token["user_id"]})
            return _user(doc) if doc else None

        return await self._run(run)

    async def revoke_token(self, token_hash: bytes) -> bool:
        return await self._run(lambda: self._tokens.delete_one({"_id": token_hash}).deleted_count > 0)

    async def list_tokens(self, user_id: int) -> list[Token]:
        def run() -> list[Token]:
            docs = list(self._tokens.find({"user_id": user_id}).sort("created_at", DESCENDING))
            tokens = [_token(doc) for doc in docs]
            for doc, token in zip(docs, tokens, strict=True):
                if "session_id" not in doc:  # stored before sessions were named
                    self._tokens.update_one({"_id": token.token_hash},
                                            {"$set": {"session_id": token.session_id}})
            return tokens

        return await self._run(run)

    async def touch_token(self, token_hash: bytes, when: datetime) -> None:
        await self._run(lambda: self._tokens.update_one(
            {"_id": token_hash}, {"$set": {"last_used_at": ms_from_utc(when)}}))

    async def revoke_session(self, user_id: int, session_id: str) -> Token | None:
        def run() -> Token | None:
            doc = self._tokens.find_one_and_delete({"session_id": session_id, "user_id": user_id})
            return _token(doc) if doc is not None else None

        return await self._run(run)

    async def revoke_tokens(self, user_id: int, *, keep: bytes | None = None) -> list[bytes]:
        query: Doc = {"user_id": user_id}
        if keep is not None:
            query["_id"] = {"$ne": keep}

        def run() -> list[bytes]:
            hashes = [doc["_id"] for doc in self._tokens.find(query, {"_id": 1})]
            self._tokens.delete_many({"_id": {"$in": hashes}})
            return hashes

        return await self._run(run)

    # follows

    async def follow(self, edge_id: int, follower_id: int, followee_id: int) -> bool:
        """Insert the edge; only if that insert won, bump both counters (one thread call)."""

        def run() -> bool:
            try:
                self._follows.insert_one(
                    {"follower_id": follower_id, "followee_id": followee_id, "edge_id": edge_id}
                )
            except DuplicateKeyError:
                # The only unique index besides the driver-made ObjectId is the pair.
                return False
            self._bump_follow_counts(follower_id, followee_id, +1)
            return True

        return await self._run(run)

    async def unfollow(self, follower_id: int, followee_id: int) -> bool:
        """Delete the edge; only if this call deleted it, drop both counters (one thread call)."""

        def run() -> bool:
            deleted = self._follows.delete_one(
                {"follower_id": follower_id, "followee_id": followee_id}
            ).deleted_count
            if deleted != 1:
                return False
            self._bump_follow_counts(follower_id, followee_id, -1)
            return True

        return await self._run(run)

    def _bump_follow_counts(self, follower_id: int, followee_id: int, by: int) -> None:
        self._users.update_one({"_id": follower_id}, {"$inc": {"following_count": by}})
        self._users.update_one({"_id": followee_id}, {"$inc": {"followers_count": by}})

    async def following_among(self, follower_id: int, candidates: Collection[int]) -> set[int]:
        ids = list(candidates)
        if not ids:
            return set()

        def run() -> set[int]:
            docs = self._follows.find(
                {"follower_id": follower_id, "followee_id": {"$in": ids}},
                {"_id": 0, "followee_id": 1},
            )
            return {doc["followee_id"] for doc in docs}

        return await self._run(run)

    async def _list_edges(
        self, mine: str, theirs: str, user_id: int, before: int | None, limit: int
    ) -> Page[User]:
        query: Doc = {mine: user_id}
        if before is not None:
            query["edge_id"] = {"$lt": before}

        def run() -> Page[User]:
            edges = list(
                self._follows.find(query, {"_id": 0, theirs: 1, "edge_id": 1})
                .sort("edge_id", DESCENDING)
                .limit(limit + 1)
            )
            more = len(edges) > limit
            edges = edges[:limit]
            ids = [edge[theirs] for edge in edges]
            users = {doc["_id"]: doc for doc in self._users.find({"_id": {"$in": ids}})}
            items = [_user(users[i]) for i in ids if i in users]
            return Page(items, edges[-1]["edge_id"] if more else None)

        return await self._run(run)

    async def list_followers(self, user_id: int, *, before: int | None, limit: int) -> Page[User]:
        return await self._list_edges("followee_id", "follower_id", user_id, before, limit)

    async def list_following(self, user_id: int, *, before: int | None, limit: int) -> Page[User]:
        return await self._list_edges("follower_id", "followee_id", user_id, before, limit)

    async def follower_ids(self, user_id: int) -> list[int]:
        def run() -> list[int]:
            docs = self._follows.find({"followee_id": user_id}, {"_id": 0, "follower_id": 1})
            return [doc["follower_id"] for doc in docs]

        return await self._run(run)

    async def following_ids(self, user_id: int) -> list[int]:
        def run() -> list[int]:
            docs = self._follows.find({"follower_id": user_id}, {"_id": 0, "followee_id": 1})
            return [doc["followee_id"] for doc in docs]

        return await self._run(run)

    # follow requests, blocks, mutes (documents of user_relations, by kind)

    def _add_relation_now(self, kind: str, edge_id: int, from_id: int, to_id: int) -> bool:
        try:
            self._relations.insert_one(
                {"kind": kind, "from_id": from_id, "to_id": to_id, "edge_id": edge_id})
        except DuplicateKeyError:  # the only unique index besides _id is the triple
            return False
        return True

    def _remove_relation_now(self, kind: str, from_id: int, to_id: int) -> bool:
        query = {"kind": kind, "from_id": from_id, "to_id": to_id}
        return self._relations.delete_one(query).deleted_count > 0

    async def _list_relation(self, kind: str, mine: str, theirs: str, user_id: int,
                             before: int | None, limit: int) -> Page[User]:
        query: Doc = {"kind": kind, mine: user_id}
        if before is not None:
            query["edge_id"] = {"$lt": before}

        def run() -> Page[User]:
            edges = list(self._relations.find(query, {"_id": 0, theirs: 1, "edge_id": 1})
                         .sort("edge_id", DESCENDING).limit(limit + 1))
            more = len(edges) > limit
            edges = edges[:limit]
            ids = [edge[theirs] for edge in edges]
            users = {doc["_id"]: doc for doc in self._users.find({"_id": {"$in": ids}})}
            return Page([_user(users[i]) for i in ids if i in users],
                        edges[-1]["edge_id"] if more else None)

        return await self._run(run)

    async def request_follow(self, request_id: int, requester_id: int, target_id: int) -> bool:
        return await self._run(
            lambda: self._add_relation_now("request", request_id, requester_id, target_id))

    async def accept_follow_request(self, edge_id: int, requester_id: int,
                                    target_id: int) -> bool:
        """Delete the request; only if that deleted it, add the follow (one thread call)."""

        def run() -> bool:
            if not self._remove_relation_now("request", requester_id, target_id):
                return False
            try:
                self._follows.insert_one(
                    {"follower_id": requester_id, "followee_id": target_id, "edge_id": edge_id})
            except DuplicateKeyError:
                return True
            self._bump_follow_counts(requester_id, target_id, +1)
            return True

        return await self._run(run)

    async def remove_follow_request(self, requester_id: int, target_id: int) -> bool:
        return await self._run(
            lambda: self._remove_relation_now("request", requester_id, target_id))

    async def list_follow_requests(
        self, target_id: int, *, before: int | None, limit: int
    ) -> Page[User]:
        return await self._list_relation("request", "to_id", "from_id", target_id, before, limit)

    async def block(self, edge_id: int, blocker_id: int, blocked_id: int) -> bool:
        """Insert the block first, then remove follows and requests both ways (one thread
        call; no transaction: a crash in between leaves a block with follows, which the
        visibility rule hides all the same, and a retried block removes them)."""

        def run() -> bool:
            added = self._add_relation_now("block", edge_id, blocker_id, blocked_id)
            for a, b in ((blocker_id, blocked_id), (blocked_id, blocker_id)):
                if self._follows.delete_one({"follower_id": a, "followee_id": b}).deleted_count:
                    self._bump_follow_counts(a, b, -1)
                self._remove_relation_now("request", a, b)
            return added

        return await self._run(run)

    async def unblock(self, blocker_id: int, blocked_id: int) -> bool:
        return await self._run(lambda: self._remove_relation_now("block", blocker_id, blocked_id))

    async def list_blocks(self, blocker_id: int, *, before: int | None, limit: int) -> Page[User]:
        return await self._list_relation("block", "from_id", "to_id", blocker_id, before, limit)

    async def mute(self, edge_id: int, muter_id: int, muted_id: int) -> bool:
        return await self._run(lambda: self._add_relation_now("mute", edge_id, muter_id, muted_id))

    async def unmute(self, muter_id: int, muted_id: int) -> bool:
        return await self._run(lambda: self._remove_relation_now("mute", muter_id, muted_id))

    async def list_mutes(self, muter_id: int, *, before: int | None, limit: int) -> Page[User]:
        return await self._list_relation("mute", "from_id", "to_id", muter_id, before, limit)

    async def relations(self, viewer_id: int, owner_ids: Collection[int]) -> dict[int, Relation]:
        """Three queries (follows, the other edges both ways, suspended or private owners)
        in one thread call."""
        ids = list(owner_ids)
        if not ids:
            return {}

        def run() -> list[tuple[str, int]]:
            edges = [("follow", doc["followee_id"]) for doc in self._follows.find(
                {"follower_id": viewer_id, "followee_id": {"$in": ids}},
                {"_id": 0, "followee_id": 1})]
            for doc in self._relations.find(
                {"$or": [{"from_id": viewer_id, "to_id": {"$in": ids}},
                         {"kind": "block", "to_id": viewer_id, "from_id": {"$in": ids}}]},
                {"_id": 0, "kind": 1, "from_id": 1, "to_id": 1},
            ):
                if doc["from_id"] == viewer_id:
                    edges.append((doc["kind"], doc["to_id"]))
                if doc["to_id"] == viewer_id:  # a block of the viewer (or of oneself)
                    edges.append(("blocked_by", doc["from_id"]))
            for doc in self._users.find(
                {"_id": {"$in": ids}, "$or": [{"suspended": True}, {"is_private": True}]},
                {"_id": 1, "suspended": 1, "is_private": 1},
            ):
                if doc.get("suspended"):
                    edges.append(("suspended", doc["_id"]))
                if doc.get("is_private"):
                    edges.append(("private", doc["_id"]))
            return edges

        return relations_from(ids, await self._run(run))

    async def muter_ids(self, user_id: int) -> list[int]:
        def run() -> list[int]:
            docs = self._relations.find({"kind": "mute", "to_id": user_id},
                                        {"_id": 0, "from_id": 1})
            return [doc["from_id"] for doc in docs]

        return await self._run(run)

    async def muted_ids(self, user_id: int) -> list[int]:
        def run() -> list[int]:
            docs = self._relations.find({"kind": "mute", "from_id": user_id},
                                        {"_id": 0, "to_id": 1})
            return [doc["to_id"] for doc in docs]

        return await self._run(run)

    async def suspended_ids(self) -> list[int]:
        return await self._run(lambda: [doc["_id"] for doc in self._users.find(
            {"suspended": True}, {"_id": 1})])

    async def private_ids(self) -> list[int]:
        return await self._run(lambda: [doc["_id"] for doc in self._users.find(
            {"is_private": True}, {"_id": 1})])

    # posts

    async def create_post(self, post: Post) -> None:
        """Store the post; a post created ready counts in its author's `posts_count`."""

        def run() -> None:
            try:
                self._posts.insert_one(_post_doc(post))
            except DuplicateKeyError as exc:
                raise Conflict(_id_field(exc, "post_id") or "post_id") from None
            if post.status == "ready":
                self._users.update_one({"_id": post.author_id}, {"$inc": {"posts_count": 1}})

        await self._run(run)

    async def get_post(self, post_id: int) -> Post | None:
        def run() -> Post | None:
            doc = self._posts.find_one({"_id": post_id})
            return _post(doc) if doc is not None else None

        return await self._run(run)

    async def get_posts(self, post_ids: Collection[int]) -> dict[int, Post]:
        ids = list(post_ids)
        if not ids:
            return {}

        def run() -> dict[int, Post]:
            return {doc["_id"]: _post(doc) for doc in self._posts.find({"_id": {"$in": ids}})}

        return await self._run(run)

    async def update_post(self, post_id: int, **fields: Any) -> Post | None:
        """Raises `ValueError` (before touching the store) for a field not in the plain set."""
        unknown = set(fields) - POST_PLAIN_FIELDS
        if unknown:
            raise ValueError(f"not plain post fields: {sorted(unknown)}")
        values = {k: list(v) if k == "hashtags" else v for k, v in fields.items()}

        def run() -> Post | None:
            if values:
                doc = self._posts.find_one_and_update(
                    {"_id": post_id}, {"$set": values}, return_document=ReturnDocument.AFTER
                )
            else:
                doc = self._posts.find_one({"_id": post_id})
            return _post(doc) if doc is not None else None

        return await self._run(run)

    async def set_post_status(
        self, post_id: int, status: PostStatus, *, failure_reason: str | None = None
    ) -> Post | None:
        """Swap the status atomically, reading the previous one, then `$inc` by the delta."""
        changes: Doc = {"status": status, "failure_reason": failure_reason}

        def run() -> Post | None:
            before = self._posts.find_one_and_update(
                {"_id": post_id}, {"$set": changes}, return_document=ReturnDocument.BEFORE
            )
            if before is None:
                return None
            delta = (status == "ready") - (before["status"] == "ready")
            if delta:
                self._users.update_one(
                    {"_id": before["author_id"]}, {"$inc": {"posts_count": delta}}
                )
            return _post({**before, **changes})

        return await self._run(run)

    async def delete_post(self, post_id: int) -> Post | None:
        """Delete atomically, reading what was deleted; a ready post drops `posts_count`."""

        def run() -> Post | None:
            doc = self._posts.find_one_and_delete({"_id": post_id})
            if doc is None:
                return None
            self._likes.delete_many({"post_id": post_id})
            self._comments.delete_many({"post_id": post_id})
            if doc["status"] == "ready":
                self._users.update_one({"_id": doc["author_id"]}, {"$inc": {"posts_count": -1}})
            return _post(doc)

        return await self._run(run)

    async def list_posts_by_author(
        self,
        author_id: int,
        *,
        statuses: Sequence[PostStatus],
        before: int | None,
        limit: int,
    ) -> Page[Post]:
        return await self._newest_posts(
            {"author_id": author_id, "status": {"$in": list(statuses)}}, before, limit)

    async def posts_with_hashtag(self, tag: str, *, before: int | None, limit: int) -> Page[Post]:
        return await self._newest_posts({"hashtags": tag, "status": "ready"}, before, limit)

    async def _newest_posts(self, query: Doc, before: int | None, limit: int) -> Page[Post]:
        """A page of the posts matching `query`, newest first, older than `before` if given."""
        if before is not None:
            query = {**query, "_id": {"$lt": before}}

        def run() -> Page[Post]:
            docs = list(self._posts.find(query).sort("_id", DESCENDING).limit(limit + 1))
            more = len(docs) > limit
            docs = docs[:limit]
            return Page([_post(d) for d in docs], docs[-1]["_id"] if more else None)

        return await self._run(run)

    async def recent_ready_post_ids(
        self, author_ids: Collection[int], *, limit: int
    ) -> list[tuple[int, int]]:
        ids = list(author_ids)
        if not ids:
            return []

        def run() -> list[tuple[int, int]]:
            docs = self._posts.find({"author_id": {"$in": ids}, "status": "ready"},
                                    {"_id": 1, "author_id": 1}).sort("_id", DESCENDING).limit(limit)
            return [(doc["_id"], doc["author_id"]) for doc in docs]

        return await self._run(run)

    async def processing_posts(self, *, created_before: datetime, limit: int) -> list[Post]:
        def run() -> list[Post]:
            docs = self._posts.find(
                {"status": "processing", "created_at": {"$lt": ms_from_utc(created_before)}}
            ).sort("created_at", ASCENDING).limit(limit)
            return [_post(doc) for doc in docs]

        return await self._run(run)

    # likes

    async def add_like(self, post_id: int, user_id: int) -> bool:
        def run() -> bool:
            try:
                self._likes.insert_one({"post_id": post_id, "user_id": user_id})
            except DuplicateKeyError:
                return False
            return True

        return await self._run(run)

    async def remove_like(self, post_id: int, user_id: int) -> bool:
        return await self._run(lambda: self._likes.delete_one(
            {"post_id": post_id, "user_id": user_id}).deleted_count == 1)

    async def liked_post_ids(self, user_id: int) -> list[int]:
        def run() -> list[int]:
            docs = self._likes.find({"user_id": user_id}, {"_id": 0, "post_id": 1})
            return [doc["post_id"] for doc in docs]

        return await self._run(run)

    async def liked_among(self, user_id: int, post_ids: Collection[int]) -> set[int]:
        ids = list(post_ids)
        if not ids:
            return set()

        def run() -> set[int]:
            docs = self._likes.find({"user_id": user_id, "post_id": {"$in": ids}},
                                    {"_id": 0, "post_id": 1})
            return {doc["post_id"] for doc in docs}

        return await self._run(run)

    async def count_likes(self, post_ids: Collection[int]) -> dict[int, int]:
        ids = list(post_ids)
        if not ids:
            return {}

        def run() -> dict[int, int]:
            groups = self._likes.aggregate([
                {"$match": {"post_id": {"$in": ids}}},
                {"$group": {"_id": "$post_id", "count": {"$sum": 1}}},
            ])
            return {post_id: 0 for post_id in ids} | {g["_id"]: g["count"] for g in groups}

        return await self._run(run)

    async def set_like_counts(self, counts: Mapping[int, int]) -> None:
        if not counts:
            return

        def run() -> None:  # update_one each: mongomock's bulk_write lags PyMongo's
            for post_id, count in counts.items():
                self._posts.update_one({"_id": post_id}, {"$set": {"like_count": count}})

        await self._run(run)

    # comments

    async def create_comment(self, comment: Comment) -> bool:
        """Bump the post's `comment_count` first (it must exist), then insert; a crash in
        between leaves the count one high, never a comment on a missing post."""

        def run() -> bool:
            bumped = self._posts.update_one({"_id": comment.post_id},
                                            {"$inc": {"comment_count": 1}}).matched_count
            if not bumped:
                return False
            self._comments.insert_one({
                "_id": comment.comment_id, "post_id": comment.post_id,
                "author_id": comment.author_id, "text": comment.text,
                "hashtags": list(comment.hashtags), "mentions": list(comment.mentions),
                "created_at": ms_from_utc(comment.created_at),
            })
            return True

        return await self._run(run)

    async def get_comment(self, comment_id: int) -> Comment | None:
        def run() -> Comment | None:
            doc = self._comments.find_one({"_id": comment_id})
            return _comment(doc) if doc is not None else None

        return await self._run(run)

    async def delete_comment(self, comment_id: int) -> Comment | None:
        def run() -> Comment | None:
            doc = self._comments.find_one_and_delete({"_id": comment_id})
            if doc is None:
                return None
            self._posts.update_one({"_id": doc["post_id"]}, {"$inc": {"comment_count": -1}})
            return _comment(doc)

        return await self._run(run)

    async def list_comments(self, post_id: int, *, after: int | None, limit: int) -> Page[Comment]:
        query: Doc = {"post_id": post_id}
        if after is not None:
            query["_id"] = {"$gt": after}

        def run() -> Page[Comment]:
            docs = list(self._comments.find(query).sort("_id", ASCENDING).limit(limit + 1))
            more = len(docs) > limit
            docs = docs[:limit]
            return Page([_comment(d) for d in docs], docs[-1]["_id"] if more else None)

        return await self._run(run)

    async def comments_by_author(self, author_id: int, *, limit: int) -> list[Comment]:
        def run() -> list[Comment]:
            docs = self._comments.find({"author_id": author_id}).sort("_id", ASCENDING).limit(limit)
            return [_comment(doc) for doc in docs]

        return await self._run(run)

    # moderation

    async def create_report(self, report: Report) -> None:
        doc: Doc = {
            "_id": report.report_id,
            "reporter_id": report.reporter_id,
            "target": report.target,
            "target_id": report.target_id,
            "reason": report.reason,
            "text": report.text,
            "status": report.status,
            "resolution": report.resolution,
            "resolved_by": report.resolved_by,
            "resolved_at": ms_from_utc(report.resolved_at) if report.resolved_at else None,
            "created_at": ms_from_utc(report.created_at),
        }

        def run() -> None:
            try:
                self._reports.insert_one(doc)
            except DuplicateKeyError as exc:
                raise Conflict(_id_field(exc, "report_id") or "report_id") from None

        await self._run(run)

    async def get_report(self, report_id: int) -> Report | None:
        def run() -> Report | None:
            doc = self._reports.find_one({"_id": report_id})
            return _report(doc) if doc is not None else None

        return await self._run(run)

    async def list_reports(
        self, *, status: ReportStatus, before: int | None, limit: int
    ) -> Page[Report]:
        query: Doc = {"status": status}
        if before is not None:
            query["_id"] = {"$lt": before}

        def run() -> Page[Report]:
            docs = list(self._reports.find(query).sort("_id", DESCENDING).limit(limit + 1))
            more = len(docs) > limit
            docs = docs[:limit]
            return Page([_report(d) for d in docs], docs[-1]["_id"] if more else None)

        return await self._run(run)

    async def resolve_report(
        self, report_id: int, *, resolution: str, resolved_by: int, resolved_at: datetime
    ) -> Report | None:
        def run() -> Report | None:
            doc = self._reports.find_one_and_update(
                {"_id": report_id, "status": "open"},
                {"$set": {"status": "resolved", "resolution": resolution,
                          "resolved_by": resolved_by, "resolved_at": ms_from_utc(resolved_at)}},
                return_document=ReturnDocument.AFTER)
            return _report(doc) if doc is not None else None

        return await self._run(run)

    async def add_audit_entry(self, entry: AuditEntry) -> None:
        await self._run(lambda: self._audit.insert_one({
            "_id": entry.action_id,
            "actor_id": entry.actor_id,
            "action": entry.action,
            "target_kind": entry.target_kind,
            "target_id": entry.target_id,
            "details": entry.details,
            "created_at": ms_from_utc(entry.created_at),
        }))

    async def list_audit_entries(self, *, before: int | None, limit: int) -> Page[AuditEntry]:
        query: Doc = {"_id": {"$lt": before}} if before is not None else {}

        def run() -> Page[AuditEntry]:
            docs = list(self._audit.find(query).sort("_id", DESCENDING).limit(limit + 1))
            more = len(docs) > limit
            docs = docs[:limit]
            return Page([_audit_entry(d) for d in docs], docs[-1]["_id"] if more else None)

        return await self._run(run)

    # the perceptual-hash blocklist

    async def add_hash_block(self, block: HashBlock) -> None:
        def run() -> None:
            try:
                self._hash_blocks.insert_one({
                    "_id": block.block_id, "pdq": block.pdq, "variants": list(block.variants),
                    "source": block.source, "note": block.note, "added_by": block.added_by,
                    "post_id": block.post_id, "created_at": ms_from_utc(block.created_at),
                })
            except DuplicateKeyError as exc:
                raise Conflict(_id_field(exc, "block_id") or "block_id") from None

        await self._run(run)

    async def remove_hash_block(self, block_id: int) -> HashBlock | None:
        def run() -> HashBlock | None:
            doc = self._hash_blocks.find_one_and_delete({"_id": block_id})
            return _hash_block(doc) if doc is not None else None

        return await self._run(run)

    async def list_hash_blocks(self, *, before: int | None, limit: int) -> Page[HashBlock]:
        def run() -> Page[HashBlock]:
            docs = _newest_first(self._hash_blocks, before, limit)
            more = len(docs) > limit
            docs = docs[:limit]
            return Page([_hash_block(d) for d in docs], docs[-1]["_id"] if more else None)

        return await self._run(run)

    async def all_hash_blocks(self) -> list[HashBlock]:
        return await self._run(lambda: [_hash_block(d) for d in self._hash_blocks.find({})])

    async def keep_post_hashes(self, hashes: PostHashes) -> None:
        await self._run(lambda: self._post_hashes.replace_one({"_id": hashes.post_id}, {
            "author_id": hashes.author_id, "dihedral": list(hashes.dihedral),
            "quality": hashes.quality, "created_at": ms_from_utc(hashes.created_at),
        }, upsert=True))

    async def get_post_hashes(self, post_id: int) -> PostHashes | None:
        def run() -> PostHashes | None:
            doc = self._post_hashes.find_one({"_id": post_id})
            if doc is None:
                return None
            return PostHashes(doc["_id"], doc["author_id"], tuple(doc["dihedral"]),
                              doc["quality"], utc_from_ms(doc["created_at"]))

        return await self._run(run)

    async def add_hash_match(self, match: HashMatch) -> None:
        await self._run(lambda: self._hash_matches.insert_one({
            "_id": match.match_id, "block_id": match.block_id, "distance": match.distance,
            "user_id": match.user_id, "post_id": match.post_id,
            "created_at": ms_from_utc(match.created_at),
        }))

    async def list_hash_matches(self, *, before: int | None, limit: int) -> Page[HashMatch]:
        def run() -> Page[HashMatch]:
            docs = _newest_first(self._hash_matches, before, limit)
            more = len(docs) > limit
            docs = docs[:limit]
            return Page([_hash_match(d) for d in docs], docs[-1]["_id"] if more else None)

        return await self._run(run)


def _newest_first(collection: MongoCollection[Doc], before: int | None, limit: int) -> list[Doc]:
    """Up to `limit` + 1 documents of `collection` with `_id` below `before`, highest first."""
    query: Doc = {} if before is None else {"_id": {"$lt": before}}
    return list(collection.find(query).sort("_id", DESCENDING).limit(limit + 1))


_DUP_KEY_FIELD = re.compile(r"dup key: \{ ?([\w.]+) ?:")
_DUP_INDEX = re.compile(r"index: (\S+)")
_INDEX_FIRST_KEY = re.compile(r"(.+?)_-?1(?:_|$)")


def _duplicate_key(exc: DuplicateKeyError) -> str | None:
    """The first key of the unique index `exc` broke, when the driver says (mongomock does not).

    Prefers the server's `keyPattern` / `keyValue`, then the message
    ("... index: email_1 dup key: { email: "a@b" }").
    """
    details = exc.details or {}
    for name in ("keyPattern", "keyValue"):
        keys = details.get(name)
        if isinstance(keys, Mapping) and keys:
            return str(next(iter(keys)))
    text = str(details.get("errmsg") or exc)
    if match := _DUP_KEY_FIELD.search(text):
        return match.group(1)
    if match := _DUP_INDEX.search(text):
        index = match.group(1).rsplit("$", 1)[-1]  # old servers: "db.users.$email_1"
        if index == "_id_":
            return "_id"
        if key := _INDEX_FIRST_KEY.match(index):
            return key.group(1)
    return None


def _id_field(exc: DuplicateKeyError, id_field: str) -> str | None:
    """`_duplicate_key`, with `_id` named as the domain field it stores (e.g. "post_id")."""
    key = _duplicate_key(exc)
    return id_field if key == "_id" else key
