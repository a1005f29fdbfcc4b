"""Routes under /api/auth and /api/me."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, request
from quart_schema import document_response, validate_request

from pixtrio.edge.auth import bearer_token, require_viewer, signed_in
from pixtrio.edge.openapi import errors, no_content
from pixtrio.edge.services import services
from pixtrio.features.views import user_view
from pixtrio.protocol.rest import AuthOut, LoginIn, MeOut, ProfileIn, RegisterIn

bp = Blueprint("accounts", __name__)


def client_ip() -> str:
    return request.remote_addr or "unknown"


@bp.post("/api/auth/register")
@validate_request(RegisterIn)
@document_response(AuthOut, 201)
@errors(400, 409, 413, 422, 429, 503)
async def register(data: RegisterIn) -> tuple[dict[str, Any], int]:
    """Create an account and sign it in."""
    user, token = await services().accounts.register(
        data.username, data.email, data.password, ip=client_ip()
    )
    return {"user": user_view(user, with_email=True), "token": token}, 201


@bp.post("/api/auth/login")
@validate_request(LoginIn)
@document_response(AuthOut)
@errors(400, 401, 413, 422, 429, 503)
async def login(data: LoginIn) -> dict[str, Any]:
    """Sign in by username or email and password."""
    user, token = await services().accounts.login(data.login, data.password, ip=client_ip())
    return {"user": user_view(user, with_email=True), "token": token}


@bp.post("/api/auth/logout")
@signed_in
@no_content
@errors(401, 503)
async def logout() -> tuple[str, int]:
    """Sign out: revoke the bearer token."""
    token = bearer_token()
    assert token is not None
    await services().accounts.logout(token)
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
