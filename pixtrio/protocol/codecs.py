"""Frames ⇄ messages for `/ws`: the JSON and msgpack codecs, both msgspec, both built from
the tagged unions of `protocol.messages`.

Decoding trusts nothing: whatever the frame, it either becomes a message of the expected
direction, valid against its declaration, or raises `ProtocolError`. msgspec checks the
frame and the declared fields; the JSON-object fields (`dict[str, Any]`) are then walked
once for what a type cannot say on Python 3.11 (no recursive aliases): their nesting
depth, and that msgpack put in them only what JSON carries. Encoding trusts the caller
(the server builds its messages itself, or decoded them here) and is one msgspec call, so
that one event is encoded once per codec and the frame sent to every session that speaks it.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import msgspec

from pixtrio.protocol.messages import (
    COMMANDS,
    JSON_SUBPROTOCOL,
    MAX_DEPTH,
    MAX_FRAME_BYTES,
    MSGPACK_SUBPROTOCOL,
    SERVER_MESSAGES,
    Command,
    Message,
    ServerMessage,
)


class ProtocolError(Exception):
    """A frame that is not a valid message.

    `code` is `too_large` (over MAX_FRAME_BYTES), `wrong_frame_type` (text for msgpack or
    binary for JSON), `bad_frame` (not JSON or msgpack: syntax, UTF-8, lone surrogates,
    nesting, trailing data, NaN literals), `unknown_type` (no such `t` in this direction)
    or `bad_message` (not a map, or a field missing, unknown or of the wrong type, or a
    value JSON cannot carry); `message` says what is wrong, naming the field's path.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class _Tag(msgspec.Struct):
    """Just a map's `t`, to tell an unknown type from a bad message once msgspec refused."""

    t: object = None


class _Side:
    """One direction's decoders: into `union`'s messages, whose wire names are `table`."""

    def __init__(self, union: Any, table: dict[str, type[Any]]) -> None:
        self.table = table
        self.json = msgspec.json.Decoder(union)
        self.msgpack = msgspec.msgpack.Decoder(union)


_COMMANDS = _Side(Command, COMMANDS)
_SERVER = _Side(ServerMessage, SERVER_MESSAGES)
_JSON_TAG = msgspec.json.Decoder(_Tag)
_MSGPACK_TAG = msgspec.msgpack.Decoder(_Tag)


def _map_fields(cls: Any) -> tuple[str, ...]:
    """The names of `cls`'s JSON-object fields."""
    return tuple(field.name for field in msgspec.structs.fields(cls)
                 if dict in (typing.get_origin(field.type),
                             *(typing.get_origin(arg) for arg in typing.get_args(field.type))))


_MAP_FIELDS: dict[type, tuple[str, ...]] = {
    cls: _map_fields(cls) for cls in (*COMMANDS.values(), *SERVER_MESSAGES.values())
}


def _decode(decode: Callable[[Any], Any], tag_of: Callable[[Any], _Tag], side: _Side,
            frame: str | bytes | bytearray, what: str) -> Any:
    """`decode(frame)` checked: the message, or ProtocolError and nothing else."""
    try:
        message = decode(frame)
    except msgspec.ValidationError as exc:
        try:
            tag = tag_of(frame).t
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            tag = None
        raise _refusal(exc, tag, side) from None
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        # not JSON or msgpack at all (msgspec 0.18 raises UnicodeDecodeError for bad UTF-8)
        raise ProtocolError("bad_frame", f"not {what}: {_cut(exc)}") from None
    except RecursionError:
        raise ProtocolError("bad_frame", f"{what} nested too deep") from None
    return _checked(message)


def _refusal(exc: msgspec.ValidationError, tag: object, side: _Side) -> ProtocolError:
    if isinstance(tag, str) and tag not in side.table:
        return ProtocolError("unknown_type", f"unknown message type {_show(tag)}")
    where = f"{tag}: " if isinstance(tag, str) else ""
    return ProtocolError("bad_message", where + _cut(exc))


def _checked(message: Any) -> Any:
    """`message`, if its JSON-object fields hold JSON and nest at most MAX_DEPTH deep."""
    for name in _MAP_FIELDS[type(message)]:
        where = _json_problem(getattr(message, name), 2)
        if where is not None:
            reason, *path = where
            raise ProtocolError(
                "bad_message", f"{message.TYPE}: {reason} - at `$.{name}{''.join(reversed(path))}`")
    return message


_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1  # what msgpack carries


def _json_problem(value: Any, depth: int) -> list[str] | None:
    """None if `value` is a JSON value both codecs carry; else [reason, *path from the
    innermost key out]. `depth` is the depth `value` has if it is a map or list.

    Decoders make exact types, so `type() is` tests suffice; strings, the most common
    leaves, are passed over without a call (msgspec checked them)."""
    kind = type(value)
    if kind is dict:
        if depth > MAX_DEPTH:
            return [f"Nests deeper than {MAX_DEPTH}"]
        for key, item in value.items():
            if type(key) is not str:
                return [f"Expected a `str` key, got `{type(key).__name__}`"]
            if type(item) is not str:
                where = _json_problem(item, depth + 1)
                if where is not None:
                    where.append(f".{key}" if key.isidentifier() and len(key) <= 40
                                 else f"[{_show(key)}]")
                    return where
        return None
    if kind is list:
        if depth > MAX_DEPTH:
            return [f"Nests deeper than {MAX_DEPTH}"]
        for index, item in enumerate(value):
            if type(item) is not str:
                where = _json_problem(item, depth + 1)
                if where is not None:
                    where.append(f"[{index}]")
                    return where
        return None
    if kind is str or kind is bool or value is None:
        return None
    if kind is int:  # JSON's may be longer than msgpack carries
        return None if _INT_MIN <= value <= _INT_MAX else ["Integer value out of range"]
    if kind is float:
        return None if math.isfinite(value) else ["Not a finite number"]
    return [f"Expected a JSON value, got `{kind.__name__}`"]


def _show(value: object) -> str:
    """`value` quoted for an error message, cut short: it may be hostile and long."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _cut(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 100 else text[:97] + "..."


# Codecs


class Codec(Protocol):
    """One subprotocol's frames. Decoding raises ProtocolError and nothing else."""

    @property
    def name(self) -> str:
        """The subprotocol (`Sec-WebSocket-Protocol`) it speaks."""
        ...

    @property
    def binary(self) -> bool:
        """True if its frames are binary (bytes), False if text (str)."""
        ...

    def encode(self, msg: Message) -> str | bytes:
        """The frame for `msg`."""
        ...

    def decode_command(self, frame: str | bytes) -> Command:
        """The command a client sent in `frame`."""
        ...

    def decode_server(self, frame: str | bytes) -> ServerMessage:
        """The message the server sent in `frame`."""
        ...


class JsonCodec:
    """`pixtrio.v1.json`: text frames of compact UTF-8 JSON."""

    __slots__ = ("_encode",)
    name = JSON_SUBPROTOCOL
    binary = False

    def __init__(self) -> None:
        self._encode = msgspec.json.Encoder().encode

    def encode(self, msg: Message) -> str:
        return self._encode(msg).decode()

    def decode_command(self, frame: str | bytes) -> Command:
        decoded: Command = _decode(_COMMANDS.json.decode, _JSON_TAG.decode, _COMMANDS,
                                   self._text(frame), "JSON")
        return decoded

    def decode_server(self, frame: str | bytes) -> ServerMessage:
        decoded: ServerMessage = _decode(_SERVER.json.decode, _JSON_TAG.decode, _SERVER,
                                         self._text(frame), "JSON")
        return decoded

    def _text(self, frame: object) -> str | bytes:
        """`frame` for the decoder, if it is text within the size limit."""
        if not isinstance(frame, str):
            raise ProtocolError("wrong_frame_type", f"{self.name} takes text frames")
        if len(frame) > MAX_FRAME_BYTES:  # no character is less than one byte
            raise ProtocolError("too_large", f"a frame is at most {MAX_FRAME_BYTES} bytes")
        if frame.isascii():
            return frame
        try:
            data = frame.encode()
        except UnicodeEncodeError:
            raise ProtocolError("bad_frame", "not valid UTF-8 text") from None
        if len(data) > MAX_FRAME_BYTES:
            raise ProtocolError("too_large", f"a frame is at most {MAX_FRAME_BYTES} bytes")
        return data


class MsgpackCodec:
    """`pixtrio.v1.msgpack`: binary frames of msgpack (str as str, no bin or ext types)."""

    __slots__ = ("_encode",)
    name = MSGPACK_SUBPROTOCOL
    binary = True

    def __init__(self) -> None:
        self._encode = msgspec.msgpack.Encoder().encode

    def encode(self, msg: Message) -> bytes:
        return self._encode(msg)

    def decode_command(self, frame: str | bytes) -> Command:
        decoded: Command = _decode(_COMMANDS.msgpack.decode, _MSGPACK_TAG.decode, _COMMANDS,
                                   self._binary(frame), "msgpack")
        return decoded

    def decode_server(self, frame: str | bytes) -> ServerMessage:
        decoded: ServerMessage = _decode(_SERVER.msgpack.decode, _MSGPACK_TAG.decode, _SERVER,
                                         self._binary(frame), "msgpack")
        return decoded

    def _binary(self, frame: object) -> bytes | bytearray:
        """`frame` for the decoder, if it is binary within the size limit."""
        if not isinstance(frame, bytes | bytearray):
            raise ProtocolError("wrong_frame_type", f"{self.name} takes binary frames")
        if len(frame) > MAX_FRAME_BYTES:
            raise ProtocolError("too_large", f"a frame is at most {MAX_FRAME_BYTES} bytes")
        return frame


JSON = JsonCodec()
MSGPACK = MsgpackCodec()
CODECS: dict[str, Codec] = {codec.name: codec for codec in (JSON, MSGPACK)}


def negotiate(offered: Iterable[str]) -> Codec | None:
    """The codec of the first subprotocol in `offered` (the client's order of preference)
    that we speak, or None."""
    for name in offered:
        codec = CODECS.get(name)
        if codec is not None:
            return codec
    return None
