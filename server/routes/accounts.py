"""Routes under /api/auth and /api/me."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, request
from quart_schema import document_response, validate_request

from protocol.rest import AuthOut, ErrorOut, LoginIn, MeOut, ProfileIn, RegisterIn

from ..auth import bearer_token, require_viewer, signed_in
from ..services import services
from ..views import user_view

bp = Blueprint("accounts", __name__)


def client_ip() -> str:
    return request.remote_addr or "unknown"


@bp.post("/api/auth/register")
@validate_request(RegisterIn)
@document_response(AuthOut, 201)
@document_response(ErrorOut, 409)
async def register(data: RegisterIn) -> tuple[dict[str, Any], int]:
    user, token = await services().accounts.register(
        data.username, data.email, data.password, ip=client_ip()
    )
    return {"user": user_view(user, with_email=True), "token": token}, 201


@bp.post("/api/auth/login")
@validate_request(LoginIn)
@document_response(AuthOut)
@document_response(ErrorOut, 401)
async def login(data: LoginIn) -> dict[str, Any]:
    user, token = await services().accounts.login(data.login, data.password, ip=client_ip())
    return {"user": user_view(user, with_email=True), "token": token}


@bp.post("/api/auth/logout")
@signed_in
async def logout() -> tuple[str, int]:
    token = bearer_token()
    assert token is not None
    await services().accounts.logout(token)
    return "", 204


@bp.get("/api/me")
@signed_in
@document_response(MeOut)
async def me() -> dict[str, Any]:
    return user_view(await require_viewer(), with_email=True)


@bp.patch("/api/me")
@signed_in
@validate_request(ProfileIn)
@document_response(MeOut)
async def update_me(data: ProfileIn) -> dict[str, Any]:
    user = await services().accounts.update_profile(
        await require_viewer(), display_name=data.display_name, bio=data.bio
    )
    return user_view(user, with_email=True)
