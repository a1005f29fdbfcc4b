"""Accounts: registering, signing in and out, bearer tokens, and editing one's profile."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime

from pixtrio.actors.session import SignedIn
from pixtrio.features.accounts.passwords import Passwords
from pixtrio.features.accounts.revocation import Revocations
from pixtrio.features.accounts.sessions import MAX_USER_AGENT, Sessions
from pixtrio.features.errors import (
    Conflict,
    Forbidden,
    InvalidField,
    NotAuthenticated,
    RateLimited,
)
from pixtrio.features.ids import IdGenerator
from pixtrio.features.ratelimit import client_network
from pixtrio.features.text import check_text
from pixtrio.storage.errors import Conflict as UniqueViolation
from pixtrio.storage.metadata import MetadataStore
from pixtrio.storage.redis.jobs import JobQueue
from pixtrio.storage.redis.login_failures import LoginFailures
from pixtrio.storage.redis.session_tokens import SessionTokens, SessionUser
from pixtrio.storage.types import NewUser, Token, User

# At least one letter or digit: a name of only dots and underscores ("..") is unreachable
# once clients collapse it in /api/users/<name>.
USERNAME = re.compile(r"(?=.*[a-z0-9])[a-z0-9._]{1,30}")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.][^@\s]*\.[^@\s]+")
RESERVED_USERNAMES = frozenset({
    "about", "accounts", "admin", "api", "assets", "direct", "docs", "explore", "favicon.ico",
    "healthz", "help", "login", "logout", "media", "messages", "metrics", "mod", "new",
    "notifications", "openapi.json", "p", "readyz", "requests", "robots.txt", "search",
    "settings", "signup", "static", "stories", "tags", "upload", "ws",
})
"""Top-level paths of the server and the web client (today's and the screens planned):
`/<username>` deep-links a profile, so no account may take one of these names."""


def normalise_username(raw: str) -> str:
    return raw.strip().lower()


def failures_account(user: User | None, login: str) -> str:
    """Whose failed sign-ins an attempt counts as: the account, by username or email
    alike; for a name no account has, that name (hashed, so any name makes a short key)."""
    if user is not None:
        return f"u:{user.user_id}"
    return "n:" + hashlib.sha256(login.encode()).hexdigest()[:32]


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def wrong_password() -> Forbidden:
    """A signed-in user's password check failed: 403, not 401 (the token is fine)."""
    return Forbidden("the password is wrong", code="wrong_password")


class AccountService:
    def __init__(
        self, store: MetadataStore, ids: IdGenerator, passwords: Passwords,
        failures: LoginFailures, session_tokens: SessionTokens, sessions: Sessions,
        revocations: Revocations, deletions: JobQueue,
    ) -> None:
        self._store = store
        self._ids = ids
        self._passwords = passwords
        self._failures = failures
        self._session_tokens = session_tokens
        self._sessions = sessions
        self._revocations = revocations
        self._deletions = deletions

    async def register(self, username: str, email: str, password: str, *, ip: str,
                       user_agent: str | None = None) -> tuple[User, str]:
        """Create an account and sign it in. Raises `InvalidField` or `Conflict` (taken)."""
        username = normalise_username(username)
        email = email.strip().lower()
        if not USERNAME.fullmatch(username):
            raise InvalidField("username", "use 1-30 of a-z, 0-9, '.' and '_', with a letter or digit")
        if username in RESERVED_USERNAMES:
            raise InvalidField("username", f"'{username}' is reserved for the app's own pages")
        if not EMAIL.fullmatch(check_text("email", email)):
            raise InvalidField("email", "not an email address")
        password_hash = await self._passwords.hash(password)
        new = NewUser(self._ids.next_id(), username, email, password_hash, datetime.now(UTC))
        try:
            user = await self._store.create_user(new)
        except UniqueViolation as exc:
            raise Conflict(f"{exc.field} is already taken", code=f"{exc.field}_taken") from None
        return user, await self._issue_token(user.user_id, ip, user_agent)

    async def login(self, login: str, password: str, *, ip: str,
                    user_agent: str | None = None) -> tuple[User, str]:
        """Sign in by username or email. Raises `NotAuthenticated` for a wrong pair;
        `RateLimited`, before the password is looked at, when rate limited: failures per
        (account, address), and, once the account has too many failures, attempts from an
        address it has not lately signed in from. A cancelled attempt counts as failed."""
        login = login.strip().lower()
        user = await self._store.get_user_by_login(login)
        attempt = await self._failures.attempt(failures_account(user, login), client_network(ip))
        if attempt.wait_ms > 0:
            raise RateLimited(attempt.wait_ms)
        if not await self._passwords.verify(user.password_hash if user else None, password):
            raise NotAuthenticated("wrong login or password", code="invalid_credentials")
        assert user is not None
        await self._failures.succeeded(attempt)
        if user.suspended:
            raise Forbidden("this account is suspended", code="suspended")
        return user, await self._issue_token(user.user_id, ip, user_agent)

    async def _issue_token(self, user_id: int, ip: str, user_agent: str | None) -> str:
        token = secrets.token_urlsafe(32)
        await self._store.create_token(Token(
            hash_token(token), user_id, datetime.now(UTC),
            user_agent=(user_agent or "")[:MAX_USER_AGENT], ip=ip))
        return token

    async def authenticate(self, token: str) -> User | None:
        """The user a live token belongs to (its use recorded), or None (also for a
        suspended account, in case a sign-in raced its suspension)."""
        token_hash = hash_token(token)
        user = await self._store.get_token_user(token_hash)
        if user is None or user.suspended:
            return None
        await self._sessions.seen(token_hash)
        return user


    async def session_sign_in(self, token: str) -> SignedIn | None:
        """Who a token signs in for a websocket session, from the Redis cache when it
        can (no metadata-store query), else from the store (then cached); None if unknown."""
        token_hash = hash_token(token)
        cached = await self._session_tokens.get(token_hash.hex())
        if cached is not None:
            return SignedIn(cached.user, token_hash.hex()) if cached.user else None
        found = await self._store.get_token_user(token_hash)
        if found is None or found.suspended:
            return None
        await self._sessions.seen(token_hash)
        user = SessionUser(found.user_id, found.username, found.profile_pic)
        await self._session_tokens.put(token_hash.hex(), user)
        return SignedIn(user, token_hash.hex())

    async def session_still_signed_in(self, token_hash_hex: str) -> bool:
        """Whether a session's token is still live (cache first, like signing in). A
        session asks once it listens for revocations, so a logout in between is seen."""
        cached = await self._session_tokens.peek(token_hash_hex)
        if cached is not None:
            return cached.user is not None
        return await self._store.get_token_user(bytes.fromhex(token_hash_hex)) is not None

    async def logout(self, token: str) -> None:
        """Revoke the token; its open websocket sessions, on any process, close (4001)."""
        token_hash = hash_token(token)
        user = await self._store.get_token_user(token_hash)
        await self._store.revoke_token(token_hash)
        if user is not None:
            await self._revocations.revoked(user.user_id, [token_hash])
        else:
            await self._session_tokens.revoke(token_hash.hex())

    async def change_password(self, user: User, token: str, old_password: str,
                              new_password: str) -> None:
        """Replace the password and revoke every other token of the account (closing
        their websockets); the token of this request keeps working. Raises `Forbidden`
        (`wrong_password`) when `old_password` is wrong, `NotAuthenticated` if the account
        is gone."""
        if not await self._passwords.verify(user.password_hash, old_password):
            raise wrong_password()
        if not await self._store.set_password_hash(user.user_id,
                                                   await self._passwords.hash(new_password)):
            raise NotAuthenticated("this account no longer exists")
        revoked = await self._store.revoke_tokens(user.user_id, keep=hash_token(token))
        await self._revocations.revoked(user.user_id, revoked)

    async def delete_account(self, user: User, password: str) -> None:
        """Delete the account at once: its record (so sign-in fails, the profile is gone
        and the username and email may be registered again), its tokens and its
        websockets; everything it made is removed by the queued deletion job
        (`deletion.AccountDeletion`). Raises `Forbidden` (`wrong_password`).

        The job is queued before the record goes, so a crash in between leaves a job
        that finds the account still there and gives up, not an account whose content
        outlives it."""
        if not await self._passwords.verify(user.password_hash, password):
            raise wrong_password()
        await self._deletions.add(str(user.user_id))
        await self._store.delete_user(user.user_id)
        await self._revocations.revoke_all(user.user_id)

    async def update_profile(self, user: User, *, display_name: str | None, bio: str | None) -> User:
        """Change the given fields. Raises `InvalidField` for control characters (bio may
        have line breaks) or bidi controls in the display name, `NotAuthenticated` if the
        account is gone."""
        if display_name is not None:
            check_text("display_name", display_name, name=True)
        if bio is not None:
            check_text("bio", bio, lines=True)
        updated = await self._store.update_profile(user.user_id, display_name=display_name, bio=bio)
        if updated is None:  # deleted between authenticating and now
            raise NotAuthenticated("this account no longer exists")
        return updated
