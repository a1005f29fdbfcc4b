"""Routes under /api/auth and /api/me."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, request
from quart_schema import document_response, validate_request

from pixtrio.edge.auth import bearer_token, require_viewer, signed_in
from pixtrio.edge.client_address import client_address
from pixtrio.edge.openapi import errors, no_content
from pixtrio.edge.ratelimits import rate_limited
from pixtrio.edge.services import services
from pixtrio.features.accounts.service import hash_token
from pixtrio.features.views import session_view, user_view
from pixtrio.protocol.rest import (
    AccountDeleteIn,
    AuthOut,
    LoginIn,
    MeOut,
    PasswordChangeIn,
    ProfileIn,
    RegisterIn,
    SessionsOut,
)

bp = Blueprint("accounts", __name__)


def user_agent() -> str | None:
    return request.headers.get("User-Agent")


def request_token() -> str:
    """The bearer token of a request that passed `signed_in`."""
    token = bearer_token()
    assert token is not None
    return token


@bp.post("/api/auth/register")
@rate_limited("register_ip")
@validate_request(RegisterIn)
@document_response(AuthOut, 201)
@errors(400, 409, 413, 422, 503)
async def register(data: RegisterIn) -> tuple[dict[str, Any], int]:
    """Create an account and sign it in."""
    user, token = await services().accounts.register(
        data.username, data.email, data.password, ip=client_address(), user_agent=user_agent()
    )
    return {"user": user_view(user, with_email=True), "token": token}, 201


@bp.post("/api/auth/login")
@rate_limited("login_ip")
@validate_request(LoginIn)
@document_response(AuthOut)
@errors(400, 401, 413, 422, 503)
async def login(data: LoginIn) -> dict[str, Any]:
    """Sign in by username or email and password."""
    user, token = await services().accounts.login(data.login, data.password,
                                                  ip=client_address(), user_agent=user_agent())
    return {"user": user_view(user, with_email=True), "token": token}


@bp.post("/api/auth/logout")
@signed_in
@rate_limited("writes")
@no_content
@errors(401, 503)
async def logout() -> tuple[str, int]:
    """Sign out: revoke the bearer token."""
    await services().accounts.logout(request_token())
    return "", 204


@bp.get("/api/me")
@signed_in
@document_response(MeOut)
@errors(401, 503)
async def me() -> dict[str, Any]:
    """The signed-in user, with their email."""
    return user_view(await require_viewer(), with_email=True)


@bp.patch("/api/me")
@signed_in
@rate_limited("writes")
@validate_request(ProfileIn)
@document_response(MeOut)
@errors(400, 401, 413, 422, 503)
async def update_me(data: ProfileIn) -> dict[str, Any]:
    """Change the signed-in user's display name, bio or privacy (going public accepts
    every pending follow request; going private keeps followers)."""
    user = await services().accounts.update_profile(
        await require_viewer(), display_name=data.display_name, bio=data.bio
    )
    if data.is_private is not None:
        user = await services().graph.set_private(user, data.is_private)
    return user_view(user, with_email=True)


@bp.delete("/api/me")
@signed_in
@rate_limited("password_checks")
@validate_request(AccountDeleteIn)
@no_content
@errors(400, 401, 403, 413, 422, 503)
async def delete_me(data: AccountDeleteIn) -> tuple[str, int]:
    """Delete the signed-in account, confirmed by its password (403 `wrong_password`
    otherwise). It is gone at once (signed out everywhere, its name free again) and
    everything it made within minutes."""
    await services().accounts.delete_account(await require_viewer(), data.password)
    return "", 204


@bp.post("/api/me/password")
@signed_in
@rate_limited("password_checks")
@validate_request(PasswordChangeIn)
@no_content
@errors(400, 401, 403, 413, 422, 503)
async def change_password(data: PasswordChangeIn) -> tuple[str, int]:
    """Change the password (403 `wrong_password` when `old_password` is wrong). Every
    other session is signed out; this request's token keeps working."""
    await services().accounts.change_password(await require_viewer(), request_token(),
                                              data.old_password, data.new_password)
    return "", 204


@bp.get("/api/me/sessions")
@signed_in
@document_response(SessionsOut)
@errors(401, 503)
async def sessions() -> dict[str, Any]:
    """The signed-in user's sessions (live tokens), newest first."""
    current = hash_token(request_token())
    tokens = await services().sessions.list(await require_viewer())
    return {"sessions": [session_view(t, current=t.token_hash == current) for t in tokens]}


@bp.delete("/api/me/sessions/<session_id>")
@signed_in
@rate_limited("writes")
@no_content
@errors(401, 404, 503)
async def revoke_session(session_id: str) -> tuple[str, int]:
    """Sign one of one's sessions out (its websockets close with 4001)."""
    await services().sessions.revoke(await require_viewer(), session_id)
    return "", 204
