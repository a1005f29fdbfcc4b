"""Frames ⇄ messages for `/ws`: the JSON and msgpack codecs and the validation they share.

Decoding trusts nothing: whatever the frame, it either becomes a message of the expected
direction, valid against its declaration in `protocol.messages`, or raises
`ProtocolError`. Encoding trusts the caller (the server builds its messages itself, or
decoded them here) and does no more than `to_wire` and one dump, so that one event is
encoded once per codec and the frame sent to every session that speaks it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import typing
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, TypeVar

import msgpack

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

M = TypeVar("M")


class ProtocolError(Exception):
    """A frame that is not a valid message.

    `code` is `too_large` (over MAX_FRAME_BYTES), `wrong_frame_type` (text for msgpack or
    binary for JSON), `bad_frame` (not JSON or msgpack: syntax, UTF-8, nesting, trailing
    data, NaN, ext types), `unknown_type` (no such `t` in this direction) or
    `bad_message` (not a map, or a field missing, unknown or of the wrong type);
    `message` says what is wrong, naming the field.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


# Field specs, read once from the dataclass annotations


@dataclasses.dataclass(frozen=True, slots=True)
class _Field:
    name: str
    kind: type  # str, bool or dict (a JSON object)
    optional: bool  # may be None, which is left off the wire
    required: bool  # has no default


@dataclasses.dataclass(frozen=True, slots=True)
class _Spec:
    type: str
    fields: tuple[_Field, ...]
    keys: frozenset[str]  # the fields' names and "t"


def _spec(cls: Any) -> _Spec:
    hints = typing.get_type_hints(cls)
    fields = []
    for field in dataclasses.fields(cls):
        hint = hints[field.name]
        args = typing.get_args(hint)
        optional = type(None) in args
        if optional:
            (hint,) = [arg for arg in args if arg is not type(None)]
        kind: type
        if hint is str or hint is bool:
            kind = hint
        elif typing.get_origin(hint) is dict and typing.get_args(hint) == (str, Any):
            kind = dict
        else:
            raise TypeError(f"{cls.__name__}.{field.name}: {hint!r} cannot go on the wire")
        if field.name == "t":
            raise TypeError(f"{cls.__name__}: 't' is the type tag, not a field name")
        required = (field.default is dataclasses.MISSING
                    and field.default_factory is dataclasses.MISSING)
        fields.append(_Field(field.name, kind, optional, required))
    return _Spec(cls.TYPE, tuple(fields), frozenset(["t", *(f.name for f in fields)]))


_SPECS: dict[type, _Spec] = {
    cls: _spec(cls) for cls in (*COMMANDS.values(), *SERVER_MESSAGES.values())
}


# Messages ⇄ wire maps

_ABSENT: Any = object()


def to_wire(msg: Message) -> dict[str, Any]:
    """`{"t": TYPE, **fields}` in declaration order, optional fields left off when None."""
    spec = _SPECS[type(msg)]
    wire: dict[str, Any] = {"t": spec.type}
    for field in spec.fields:
        value = getattr(msg, field.name)
        if value is not None or not field.optional:
            wire[field.name] = value
    return wire


def from_wire(data: object, table: Mapping[str, type[M]]) -> M:
    """The message of `table` (COMMANDS or SERVER_MESSAGES) that the decoded frame `data`
    is; raises ProtocolError (`unknown_type`, `bad_message`) unless it is exactly one.

    An optional field may be absent or null. Map fields must be JSON objects that both
    codecs carry: string keys; values null, bool, 64-bit int, finite float, string,
    list or map, nested at most MAX_DEPTH deep. Strings must be valid Unicode.
    """
    if not isinstance(data, dict):
        raise ProtocolError("bad_message", f"a message is a map, not {_kind_of(data)}")
    name = data.get("t")
    if not isinstance(name, str):
        raise ProtocolError("bad_message", "a message needs a string 't'")
    cls = table.get(name)
    if cls is None:
        raise ProtocolError("unknown_type", f"unknown message type {_show(name)}")
    spec = _SPECS[cls]
    if not spec.keys.issuperset(data):
        unknown = next(key for key in data if key not in spec.keys)
        raise ProtocolError("bad_message", f"{name}: unknown field {_show(unknown)}")
    values: dict[str, Any] = {}
    for field in spec.fields:
        value = data.get(field.name, _ABSENT)
        if value is _ABSENT or (value is None and field.optional):
            if field.required:
                raise ProtocolError("bad_message", f"{name}: missing field {field.name!r}")
            continue
        problem = _field_problem(field, value)
        if problem is not None:
            raise ProtocolError("bad_message", f"{name}: {problem}")
        values[field.name] = value
    return cls(**values)


_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1  # what msgpack carries
_SURROGATE = re.compile("[\ud800-\udfff]")


def _is_text(value: str) -> bool:
    # JSON's \ud800 escapes decode to lone surrogates, which no UTF-8 frame can carry
    return value.isascii() or _SURROGATE.search(value) is None


def _field_problem(field: _Field, value: object) -> str | None:
    if field.kind is str:
        if not isinstance(value, str):
            return f"field {field.name!r} must be a string, not {_kind_of(value)}"
        return None if _is_text(value) else f"field {field.name!r} is not valid Unicode"
    if field.kind is bool:
        return None if isinstance(value, bool) else (
            f"field {field.name!r} must be true or false, not {_kind_of(value)}")
    if not isinstance(value, dict):
        return f"field {field.name!r} must be a map, not {_kind_of(value)}"
    where = _json_problem(value, 2)
    if where is None:
        return None
    reason, *path = where
    return f"{field.name}{''.join(reversed(path))} {reason}"


def _json_problem(value: object, depth: int) -> list[str] | None:
    """None if `value` is a JSON value both codecs carry; else [reason, *path from the
    innermost key out]. `depth` is the depth `value` has if it is a map or list."""
    if value is None or isinstance(value, bool):  # before int: a bool is an int
        return None
    if isinstance(value, str):
        return None if _is_text(value) else ["is not valid Unicode"]
    if isinstance(value, int):
        return None if _INT_MIN <= value <= _INT_MAX else ["is out of the 64-bit range"]
    if isinstance(value, float):
        return None if math.isfinite(value) else ["is not a finite number"]
    if isinstance(value, list):
        if depth > MAX_DEPTH:
            return [f"nests deeper than {MAX_DEPTH}"]
        for index, item in enumerate(value):
            where = _json_problem(item, depth + 1)
            if where is not None:
                where.append(f"[{index}]")
                return where
        return None
    if isinstance(value, dict):
        if depth > MAX_DEPTH:
            return [f"nests deeper than {MAX_DEPTH}"]
        for key, item in value.items():
            if not isinstance(key, str):
                return [f"has a key that is {_kind_of(key)}, not a string"]
            if not _is_text(key):
                return ["has a key that is not valid Unicode"]
            where = _json_problem(item, depth + 1)
            if where is not None:
                where.append(f".{key}" if key.isidentifier() and len(key) <= 40 else f"[{_show(key)}]")
                return where
        return None
    return [f"is {_kind_of(value)}, not a JSON value"]


def _kind_of(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a map"
    if isinstance(value, bytes):
        return "binary"
    return "an extension"


def _show(value: object) -> str:
    """`value` quoted for an error message, cut short: it may be hostile and long."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


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


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


class JsonCodec:
    """`pixtrio.v1.json`: text frames of compact JSON."""

    __slots__ = ("_dumps", "_loads")
    name = JSON_SUBPROTOCOL
    binary = False

    def __init__(self) -> None:
        # messages are trees the server built, so no circular check
        self._dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, check_circular=False,
                                       separators=(",", ":")).encode
        self._loads = json.JSONDecoder(parse_constant=_refuse_constant).decode

    def encode(self, msg: Message) -> str:
        return self._dumps(to_wire(msg))

    def decode_command(self, frame: str | bytes) -> Command:
        return from_wire(self._load(frame), COMMANDS)

    def decode_server(self, frame: str | bytes) -> ServerMessage:
        return from_wire(self._load(frame), SERVER_MESSAGES)

    def _load(self, frame: object) -> object:
        if not isinstance(frame, str):
            raise ProtocolError("wrong_frame_type", f"{self.name} takes text frames")
        if len(frame) > MAX_FRAME_BYTES:  # no character is less than one byte
            raise ProtocolError("too_large", f"a frame is at most {MAX_FRAME_BYTES} bytes")
        if not frame.isascii():
            try:
                size = len(frame.encode())
            except UnicodeEncodeError:
                raise ProtocolError("bad_frame", "not valid UTF-8 text") from None
            if size > MAX_FRAME_BYTES:
                raise ProtocolError("too_large", f"a frame is at most {MAX_FRAME_BYTES} bytes")
        try:
            return self._loads(frame)
        except RecursionError:
            raise ProtocolError("bad_frame", "JSON nested too deep") from None
        except ValueError as exc:  # JSONDecodeError, NaN, over-long integers
            raise ProtocolError("bad_frame", f"not JSON: {_cut(exc)}") from None


def _refuse_ext(code: int, data: bytes) -> None:
    raise ValueError(f"ext type {code} is not used")


class MsgpackCodec:
    """`pixtrio.v1.msgpack`: binary frames of msgpack (str as str, no bin or ext types)."""

    __slots__ = ("_unpack_options",)
    name = MSGPACK_SUBPROTOCOL
    binary = True

    def __init__(self) -> None:
        self._unpack_options: dict[str, Any] = dict(
            raw=False,
            strict_map_key=True,  # str (or bytes) keys only, so never an unhashable one
            max_str_len=MAX_FRAME_BYTES,
            max_bin_len=MAX_FRAME_BYTES,
            max_array_len=MAX_FRAME_BYTES,  # an element takes at least a byte
            max_map_len=MAX_FRAME_BYTES // 2,
            max_ext_len=0,  # no ext types; the timestamp type would bypass ext_hook
            ext_hook=_refuse_ext,
        )

    def encode(self, msg: Message) -> bytes:
        # packb makes a small Packer per call: cheap, and safe whichever thread encodes
        packed: bytes = msgpack.packb(to_wire(msg))
        return packed

    def decode_command(self, frame: str | bytes) -> Command:
        return from_wire(self._load(frame), COMMANDS)

    def decode_server(self, frame: str | bytes) -> ServerMessage:
        return from_wire(self._load(frame), SERVER_MESSAGES)

    def _load(self, frame: object) -> object:
        if not isinstance(frame, bytes | bytearray):
            raise ProtocolError("wrong_frame_type", f"{self.name} takes binary frames")
        if len(frame) > MAX_FRAME_BYTES:
            raise ProtocolError("too_large", f"a frame is at most {MAX_FRAME_BYTES} bytes")
        try:
            return msgpack.unpackb(frame, **self._unpack_options)
        except (ValueError, TypeError, RecursionError, msgpack.UnpackException) as exc:
            # ExtraData, FormatError, StackError (nesting), UnicodeDecodeError, limits
            raise ProtocolError("bad_frame", f"not msgpack: {_cut(exc) or type(exc).__name__}") from None


def _cut(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 100 else text[:97] + "..."


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
