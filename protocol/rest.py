"""Request and response bodies of the REST API (API.md), as pydantic models.

Requests are validated against these; responses are documented with them (the server
builds response dicts directly, which is faster than validating every answer).
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorBody


class RegisterIn(BaseModel):
    username: str = Field(max_length=64)
    email: str = Field(max_length=254)
    password: str = Field(min_length=8, max_length=1024)


class LoginIn(BaseModel):
    login: str = Field(min_length=1, max_length=254, description="username or email")
    password: str = Field(max_length=1024)


class ProfileIn(BaseModel):
    display_name: str | None = Field(default=None, max_length=64)
    bio: str | None = Field(default=None, max_length=150)


class ListQuery(BaseModel):
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=20, ge=1, le=100)


class UserOut(BaseModel):
    user_id: str
    username: str
    display_name: str
    bio: str
    profile_pic: str | None
    followers_count: int
    following_count: int
    posts_count: int
    followed_by_viewer: bool


class MeOut(UserOut):
    email: str


class AuthOut(BaseModel):
    user: MeOut
    token: str


class UserListOut(BaseModel):
    users: list[UserOut]
    next_cursor: str | None


class FollowOut(BaseModel):
    following: bool


class HealthOut(BaseModel):
    status: str
    checks: dict[str, str] = {}
