"""The websocket messages of `/ws` (docs/protocol.md), declared once for server, SDK and docs.

Every message is a frozen dataclass whose `TYPE` is its wire name and whose fields are its
wire fields, in wire order. A message goes on the wire as `{"t": TYPE, **fields}`;
`protocol.codecs` turns it into frames and back, validating against these annotations.
Field types are limited to `str`, `bool` and `dict[str, Any]` (a JSON object), each
optionally `| None`.

Ids are decimal strings. An event's `id` is its resume position: a Redis stream id such
as `"1732590000000-0"`, to be handed back as `Auth.since`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar, TypeAlias, get_args

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


# Both directions


@dataclass(frozen=True, slots=True)
class Ping:
    """Are you there? Answered by `Pong`. The server sends one every 25 s; a client may
    send one at any time."""

    TYPE: ClassVar[str] = "ping"


@dataclass(frozen=True, slots=True)
class Pong:
    """The answer to `Ping`."""

    TYPE: ClassVar[str] = "pong"


# Client → server


@dataclass(frozen=True, slots=True)
class Auth:
    """Sign in (the first message, unless the upgrade request carried a Bearer token);
    `since` is the `id` of the last event the client handled, to resume after it."""

    TYPE: ClassVar[str] = "auth"
    token: str
    since: str | None = None


@dataclass(frozen=True, slots=True)
class DmSend:
    """Send a direct message; the same `client_id` twice makes one message."""

    TYPE: ClassVar[str] = "dm.send"
    conversation_id: str
    text: str
    client_id: str


@dataclass(frozen=True, slots=True)
class DmTypingCommand:
    """The user is typing in a conversation."""

    TYPE: ClassVar[str] = "dm.typing"
    conversation_id: str


@dataclass(frozen=True, slots=True)
class DmReadCommand:
    """The user has read a conversation up to `message_id`."""

    TYPE: ClassVar[str] = "dm.read"
    conversation_id: str
    message_id: str


# Server → client


@dataclass(frozen=True, slots=True)
class Hello:
    """The session is signed in; `recovered` says whether the events after `since` follow."""

    TYPE: ClassVar[str] = "hello"
    session_id: str
    user: dict[str, Any]
    recovered: bool


@dataclass(frozen=True, slots=True)
class Error:
    """A frame or command was refused; `code` is snake_case, `message` human text."""

    TYPE: ClassVar[str] = "error"
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class FeedInsert:
    """A new post for the home feed (API.md's `post`)."""

    TYPE: ClassVar[str] = "feed.insert"
    id: str
    post: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PostDeleted:
    """A post is gone: drop it wherever it is shown."""

    TYPE: ClassVar[str] = "post.deleted"
    id: str
    post_id: str


@dataclass(frozen=True, slots=True)
class StoryTray:
    """A story tray entry changed (API.md's tray entry)."""

    TYPE: ClassVar[str] = "story.tray"
    id: str
    entry: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DmMessage:
    """A new direct message (API.md's `message`), the sender's own included."""

    TYPE: ClassVar[str] = "dm.message"
    id: str
    message: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DmRead:
    """`user_id` has read `conversation_id` up to `message_id`."""

    TYPE: ClassVar[str] = "dm.read"
    id: str
    conversation_id: str
    user_id: str
    message_id: str


@dataclass(frozen=True, slots=True)
class DmTyping:
    """`user_id` is typing in `conversation_id`."""

    TYPE: ClassVar[str] = "dm.typing"
    id: str
    conversation_id: str
    user_id: str


@dataclass(frozen=True, slots=True)
class Notification:
    """`actor` (API.md's author) followed the user (`kind` "follow"), or liked or
    commented on their post `post_id` ("like", "comment")."""

    TYPE: ClassVar[str] = "notification"
    id: str
    kind: str
    actor: dict[str, Any]
    post_id: str | None = None


Command: TypeAlias = Auth | Ping | Pong | DmSend | DmTypingCommand | DmReadCommand
Event: TypeAlias = FeedInsert | PostDeleted | StoryTray | DmMessage | DmRead | DmTyping | Notification
ServerMessage: TypeAlias = Hello | Ping | Pong | Error | Event
Message: TypeAlias = Command | ServerMessage


def _table(union: Any) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for cls in get_args(union):
        if cls.TYPE in table:
            raise TypeError(f"{cls.__name__} and {table[cls.TYPE].__name__} are both {cls.TYPE!r}")
        table[cls.TYPE] = cls
    return table


COMMANDS: dict[str, type[Command]] = _table(Command)
"""Wire name → class, for frames from clients."""

SERVER_MESSAGES: dict[str, type[ServerMessage]] = _table(ServerMessage)
"""Wire name → class, for frames from the server."""
