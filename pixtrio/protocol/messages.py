"""The websocket messages of `/ws` (docs/protocol.md), declared once for server, SDK and docs.

Every message is a frozen msgspec Struct whose tag (`TYPE`) is its wire name and whose
fields are its wire fields, in wire order. A message goes on the wire as
`{"t": TYPE, **fields}`, an optional field left off when None; `Command` and
`ServerMessage` are the tagged unions on `t` that `protocol.codecs` decodes frames into.
Field types are limited to `str`, `bool` and `dict[str, Any]` (a JSON object), each
optionally `| None`.

Ids are decimal strings. An event's `id` is its resume position: a Redis stream id such
as `"1732590000000-0"`, to be handed back as `Auth.since`.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, ClassVar, TypeAlias, get_args

import msgspec

JSON_SUBPROTOCOL = "pixtrio.v1.json"
MSGPACK_SUBPROTOCOL = "pixtrio.v1.msgpack"
MAX_FRAME_BYTES = 64 * 1024
MAX_DEPTH = 32
"""Maps and lists nest at most this deep in a message, counting the message itself."""


class CloseCode(IntEnum):
    NORMAL = 1000
    GOING_AWAY = 1001  # the server is shutting down: reconnect with `since`
    TOO_LARGE = 1009  # a frame over MAX_FRAME_BYTES
    INTERNAL_ERROR = 1011  # the server could not go on (e.g. Redis lost): reconnect later
    SERVICE_RESTART = 1012  # the server's event bus reconnected: resume with `since`
    PING_TIMEOUT = 4000  # no answer to the server's ping in time
    UNAUTHENTICATED = 4001  # no valid auth in time, or the token was revoked
    TOO_SLOW = 4008  # the session's mailbox overflowed: reconnect with `since`
    RATE_LIMITED = 4029  # too many inbound frames


class _Message(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True,
               tag_field="t"):
    """A wire message: unknown fields are refused, None optionals left off the wire."""

    TYPE: ClassVar[str]
    """The wire name (the Struct's tag), set by `_table`."""


# Both directions


class Ping(_Message, tag="ping", frozen=True):
    """Are you there? Answered by `Pong`. The server sends one every 25 s; a client may
    send one at any time."""


class Pong(_Message, tag="pong", frozen=True):
    """The answer to `Ping`."""


# Client → server


class Auth(_Message, tag="auth", frozen=True):
    """Sign in (the first message, unless the upgrade request carried a Bearer token);
    `since` is the `id` of the last event the client handled, to resume after it."""
    token: str
    since: str | None = None


class DmSend(_Message, tag="dm.send", frozen=True):
    """Send a direct message; the same `client_id` twice makes one message."""
    conversation_id: str
    text: str
    client_id: str


class DmTypingCommand(_Message, tag="dm.typing", frozen=True):
    """The user is typing in a conversation."""
    conversation_id: str


class DmReadCommand(_Message, tag="dm.read", frozen=True):
    """The user has read a conversation up to `message_id`."""
    conversation_id: str
    message_id: str


# Server → client


class Hello(_Message, tag="hello", frozen=True):
    """The session is signed in; `recovered` says whether the events after `since` follow."""
    session_id: str
    user: dict[str, Any]
    recovered: bool


class Error(_Message, tag="error", frozen=True):
    """A frame or command was refused; `code` is snake_case, `message` human text."""
    code: str
    message: str


class FeedInsert(_Message, tag="feed.insert", frozen=True):
    """A new post for the home feed (API.md's `post`)."""
    id: str
    post: dict[str, Any]


class PostDeleted(_Message, tag="post.deleted", frozen=True):
    """A post is gone: drop it wherever it is shown."""
    id: str
    post_id: str


class StoryTray(_Message, tag="story.tray", frozen=True):
    """A story tray entry changed (API.md's tray entry)."""
    id: str
    entry: dict[str, Any]


class DmMessage(_Message, tag="dm.message", frozen=True):
    """A new direct message (API.md's `message`), the sender's own included."""
    id: str
    message: dict[str, Any]


class DmRead(_Message, tag="dm.read", frozen=True):
    """`user_id` has read `conversation_id` up to `message_id`."""
    id: str
    conversation_id: str
    user_id: str
    message_id: str


class DmTyping(_Message, tag="dm.typing", frozen=True):
    """`user_id` is typing in `conversation_id`."""
    id: str
    conversation_id: str
    user_id: str


class Notification(_Message, tag="notification", frozen=True):
    """`actor` (API.md's author) followed the user (`kind` "follow"), asked to follow
    their private account ("follow_request"), accepted their request ("follow_accepted"),
    or liked or commented on their post `post_id` ("like", "comment")."""
    id: str
    kind: str
    actor: dict[str, Any]
    post_id: str | None = None


Command: TypeAlias = Auth | Ping | Pong | DmSend | DmTypingCommand | DmReadCommand
Event: TypeAlias = FeedInsert | PostDeleted | StoryTray | DmMessage | DmRead | DmTyping | Notification
ServerMessage: TypeAlias = Hello | Ping | Pong | Error | Event
Message: TypeAlias = Command | ServerMessage


def _table(union: Any) -> dict[str, Any]:
    """Wire name → class (the codecs' msgspec decoders refuse a name taken twice)."""
    for cls in get_args(union):
        cls.TYPE = cls.__struct_config__.tag
    return {cls.TYPE: cls for cls in get_args(union)}


COMMANDS: dict[str, type[Command]] = _table(Command)
"""Wire name → class, for frames from clients."""

SERVER_MESSAGES: dict[str, type[ServerMessage]] = _table(ServerMessage)
"""Wire name → class, for frames from the server."""
