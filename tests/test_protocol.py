"""The websocket protocol: messages, codecs, and the examples in docs/protocol.md."""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pixtrio.protocol import messages
from pixtrio.protocol.codecs import (
    CODECS,
    JSON,
    MSGPACK,
    Codec,
    ProtocolError,
    negotiate,
)
from pixtrio.protocol.messages import (
    COMMANDS,
    JSON_SUBPROTOCOL,
    MAX_DEPTH,
    MAX_FRAME_BYTES,
    MSGPACK_SUBPROTOCOL,
    SERVER_MESSAGES,
    Auth,
    CloseCode,
    Command,
    DmSend,
    Event,
    Hello,
    Message,
    Notification,
    Ping,
    Pong,
    ServerMessage,
)

DOC = Path(__file__).resolve().parent.parent / "docs" / "protocol.md"
BOTH: list[Codec] = [JSON, MSGPACK]
ALL_CLASSES = [
    obj for obj in vars(messages).values()
    if isinstance(obj, type) and issubclass(obj, msgspec.Struct)
    and obj.__module__ == messages.__name__ and not obj.__name__.startswith("_")
]


def raw_frame(codec: Codec, obj: Any) -> str | bytes:
    """`obj` as a frame of `codec`, with no checks: for building bad input."""
    if codec.binary:
        packed: bytes = msgpack.packb(obj)
        return packed
    return json.dumps(obj)


def code_of(decode: Callable[[Any], object], frame: object) -> str:
    with pytest.raises(ProtocolError) as caught:
        decode(frame)
    return caught.value.code


# Strategies, read from the declarations like the codecs are

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
json_objects = st.dictionaries(st.text(), json_values, max_size=6)


def _field_strategy(hint: Any) -> st.SearchStrategy[Any]:
    args = typing.get_args(hint)
    if type(None) in args:
        (inner,) = [arg for arg in args if arg is not type(None)]
        return st.none() | _field_strategy(inner)
    if hint is str:
        return st.text()
    if hint is bool:
        return st.booleans()
    assert typing.get_origin(hint) is dict
    return json_objects


def message_strategy(cls: type) -> st.SearchStrategy[Any]:
    return st.builds(cls, **{f.name: _field_strategy(f.type) for f in msgspec.structs.fields(cls)})


commands = st.one_of([message_strategy(cls) for cls in COMMANDS.values()])
server_messages = st.one_of([message_strategy(cls) for cls in SERVER_MESSAGES.values()])


# Declarations and tables


def test_tables_cover_every_message_under_its_wire_name() -> None:
    assert set(COMMANDS.values()) | set(SERVER_MESSAGES.values()) == set(ALL_CLASSES)
    for table in (COMMANDS, SERVER_MESSAGES):
        assert all(name == cls.TYPE for name, cls in table.items())
    assert set(COMMANDS.values()) == set(typing.get_args(Command))
    assert set(SERVER_MESSAGES.values()) == set(typing.get_args(ServerMessage))
    assert set(COMMANDS) == {"auth", "ping", "pong", "dm.send", "dm.typing", "dm.read"}
    assert set(SERVER_MESSAGES) == {
        "hello", "ping", "pong", "error", "feed.insert", "post.deleted", "story.tray",
        "dm.message", "dm.read", "dm.typing", "notification"}
    assert COMMANDS["ping"] is SERVER_MESSAGES["ping"] is Ping
    assert COMMANDS["pong"] is SERVER_MESSAGES["pong"] is Pong


def test_messages_are_frozen_tagged_structs_and_events_lead_with_their_id() -> None:
    for cls in ALL_CLASSES:
        config = cls.__struct_config__
        assert config.frozen and config.forbid_unknown_fields and config.omit_defaults, cls
        assert (config.tag_field, config.tag) == ("t", cls.TYPE), cls
    hello = Hello("s", {}, False)
    with pytest.raises(AttributeError):
        hello.recovered = True  # type: ignore[misc]
    for cls in typing.get_args(Event):
        assert [f.name for f in msgspec.structs.fields(cls)][0] == "id"
        assert SERVER_MESSAGES[cls.TYPE] is cls


def test_constants() -> None:
    assert (JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL) == ("pixtrio.v1.json", "pixtrio.v1.msgpack")
    assert MAX_FRAME_BYTES == 65536
    assert {code.name: int(code) for code in CloseCode} == {
        "NORMAL": 1000, "GOING_AWAY": 1001, "TOO_LARGE": 1009, "INTERNAL_ERROR": 1011,
        "SERVICE_RESTART": 1012, "PING_TIMEOUT": 4000, "UNAUTHENTICATED": 4001, "TOO_SLOW": 4008, "RATE_LIMITED": 4029}


def test_codecs_and_negotiation() -> None:
    assert CODECS == {JSON_SUBPROTOCOL: JSON, MSGPACK_SUBPROTOCOL: MSGPACK}
    assert (JSON.name, JSON.binary, MSGPACK.name, MSGPACK.binary) == (
        JSON_SUBPROTOCOL, False, MSGPACK_SUBPROTOCOL, True)
    assert negotiate(["chat", MSGPACK_SUBPROTOCOL, JSON_SUBPROTOCOL]) is MSGPACK
    assert negotiate([JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL]) is JSON
    assert negotiate(["pixtrio.v2.json", "PIXTRIO.V1.JSON"]) is None
    assert negotiate([]) is None


# Encoding


@pytest.mark.parametrize("codec", BOTH, ids=lambda c: c.name)
def test_wire_form_is_tagged_ordered_and_leaves_off_none(codec: Codec) -> None:
    def wire(message: Message) -> Any:
        frame = codec.encode(message)
        return msgpack.unpackb(frame) if isinstance(frame, bytes) else json.loads(frame)

    assert wire(Auth("tok")) == {"t": "auth", "token": "tok"}
    assert list(wire(Auth("tok", since="1-0"))) == ["t", "token", "since"]
    assert wire(Notification("1-0", "follow", {"user_id": "1"})) == {
        "t": "notification", "id": "1-0", "kind": "follow", "actor": {"user_id": "1"}}
    assert wire(Ping()) == {"t": "ping"}


def test_json_is_compact_utf8_text_and_msgpack_uses_str() -> None:
    message = DmSend("1", "née 🙂", "c")
    text = JSON.encode(message)
    assert text == '{"t":"dm.send","conversation_id":"1","text":"née 🙂","client_id":"c"}'
    packed = MSGPACK.encode(message)
    assert isinstance(packed, bytes)
    assert msgpack.unpackb(packed, raw=True)[b"text"] == "née 🙂".encode()  # str type, not bin


# Round trips


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(commands)
def test_commands_round_trip_through_both_codecs(message: Any) -> None:
    decoded = [codec.decode_command(codec.encode(message)) for codec in BOTH]
    assert decoded == [message, message]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(server_messages)
def test_server_messages_round_trip_through_both_codecs(message: Any) -> None:
    assert isinstance(JSON.encode(message), str) and isinstance(MSGPACK.encode(message), bytes)
    decoded = [codec.decode_server(codec.encode(message)) for codec in BOTH]
    assert decoded == [message, message]
    assert type(decoded[0]) is type(message)


# Hostile input: whatever comes in, a message or a ProtocolError


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes(frame: bytes) -> None:
    for decode in (MSGPACK.decode_command, MSGPACK.decode_server):
        try:
            decode(frame)
        except ProtocolError as exc:
            assert exc.code in {"bad_frame", "bad_message", "unknown_type"}
    assert code_of(JSON.decode_command, frame) == "wrong_frame_type"


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200) | st.text(alphabet='{}[]":,0123456789.eE+-tnulfrsaehi\\ ', max_size=200))
def test_random_text(frame: str) -> None:
    for decode in (JSON.decode_command, JSON.decode_server):
        try:
            decode(frame)
        except ProtocolError as exc:
            assert exc.code in {"bad_frame", "bad_message", "unknown_type"}
    assert code_of(MSGPACK.decode_command, frame) == "wrong_frame_type"


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(BOTH), commands, st.data())
def test_damaged_frames(codec: Codec, message: Any, data: st.DataObject) -> None:
    frame = codec.encode(message)
    raw = frame.encode() if isinstance(frame, str) else frame
    cut = data.draw(st.integers(0, len(raw)))
    damaged = raw[:cut] + data.draw(st.binary(max_size=8)) + raw[cut + data.draw(st.integers(0, 4)):]
    candidate: str | bytes = damaged
    if isinstance(frame, str):
        candidate = damaged.decode("utf-8", "surrogateescape")  # lone surrogates: invalid text
    try:
        codec.decode_command(candidate)
    except ProtocolError as exc:
        assert exc.code in {"bad_frame", "bad_message", "unknown_type"}


wild_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(max_size=4)
    | st.sampled_from(["\ud800", "a\udfff"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.text(max_size=3) | st.integers() | st.binary(max_size=2), inner, max_size=3),
    max_leaves=10,
)
field_names = sorted({f.name for cls in ALL_CLASSES for f in msgspec.structs.fields(cls)})


@settings(max_examples=1000, deadline=None)
@given(st.dictionaries(st.sampled_from([*field_names, "t", "x"]) | st.binary(max_size=2), wild_values,
                       max_size=6),
       st.sampled_from([*COMMANDS, *SERVER_MESSAGES, "nope"]) | wild_values,
       st.sampled_from(BOTH), st.booleans())
def test_whatever_decodes_goes_through_both_codecs(
        wire: dict[Any, Any], name: Any, codec: Codec, commands: bool) -> None:
    wire["t"] = name
    try:
        frame = raw_frame(codec, wire)
    except (TypeError, ValueError, OverflowError):  # bytes in JSON; a surrogate or 2**64 in msgpack
        return
    try:
        message = (codec.decode_command if commands else codec.decode_server)(frame)
    except ProtocolError as exc:
        assert exc.code in {"bad_frame", "bad_message", "unknown_type"}
        return
    for other in BOTH:
        decode = other.decode_command if commands else other.decode_server
        assert decode(other.encode(message)) == message


VALID_HELLO = {"t": "hello", "session_id": "s", "user": {"user_id": "1"}, "recovered": True}


@pytest.mark.parametrize(("wire", "code", "named"), [
    ([], "bad_message", "Expected `object`, got `array`"),
    ("hello", "bad_message", "Expected `object`, got `str`"),
    (None, "bad_message", "Expected `object`"),
    (7, "bad_message", "Expected `object`, got `int`"),
    ({"type": "ping"}, "bad_message", "missing required field `t`"),
    ({"t": 1}, "bad_message", "`$.t`"),
    ({"t": None}, "bad_message", "`$.t`"),
    ({"t": "nope"}, "unknown_type", "'nope'"),
    ({"t": "auth", "token": "x"}, "unknown_type", "'auth'"),  # a command is no server message
    ({**VALID_HELLO, "extra": 1}, "bad_message", "hello: Object contains unknown field `extra`"),
    ({"t": "hello", "session_id": "s", "user": {}}, "bad_message", "missing required field `recovered`"),
    ({**VALID_HELLO, "recovered": 1}, "bad_message", "hello: Expected `bool`, got `int` - at `$.recovered`"),
    ({**VALID_HELLO, "recovered": "true"}, "bad_message", "`$.recovered`"),
    ({**VALID_HELLO, "recovered": None}, "bad_message", "`$.recovered`"),
    ({**VALID_HELLO, "session_id": 5}, "bad_message", "`$.session_id`"),
    ({**VALID_HELLO, "session_id": None}, "bad_message", "`$.session_id`"),
    ({**VALID_HELLO, "user": []}, "bad_message", "`$.user`"),
    ({**VALID_HELLO, "user": "ana"}, "bad_message", "`$.user`"),
    ({**VALID_HELLO, "user": {"n": 2**64}}, "bad_message", "out of range - at `$.user.n`"),
    ({**VALID_HELLO, "user": {"n": -(2**63) - 1}}, "bad_message", "out of range - at `$.user.n`"),
    ({**VALID_HELLO, "user": {"a": [1, {"b": 2**64}]}}, "bad_message", "`$.user.a[1].b`"),
    ({"t": "notification", "id": "1-0", "kind": "like", "actor": {}, "post_id": 5},
     "bad_message", "`$.post_id`"),
])
def test_bad_messages(wire: Any, code: str, named: str) -> None:
    decoded_by = []
    for codec in BOTH:
        try:
            frame = raw_frame(codec, wire)
        except (OverflowError, UnicodeEncodeError):
            assert codec is MSGPACK  # msgpack cannot even carry it; JSON can, and is checked
            continue
        with pytest.raises(ProtocolError) as caught:
            codec.decode_server(frame)
        assert caught.value.code == code
        assert named in caught.value.message
        decoded_by.append(codec)
    assert JSON in decoded_by


def test_command_errors_name_the_field() -> None:
    with pytest.raises(ProtocolError) as caught:
        JSON.decode_command('{"t":"dm.send","conversation_id":"1","text":"hi"}')
    assert caught.value.code == "bad_message"
    assert caught.value.message == "dm.send: Object missing required field `client_id`"
    assert str(caught.value) == "bad_message: dm.send: Object missing required field `client_id`"
    assert code_of(JSON.decode_command, '{"t":"hello"}') == "unknown_type"


@pytest.mark.parametrize("codec", BOTH, ids=lambda c: c.name)
def test_optional_fields_may_be_absent_or_null(codec: Codec) -> None:
    assert codec.decode_command(raw_frame(codec, {"t": "auth", "token": "x", "since": None})) == Auth("x")
    assert codec.decode_command(raw_frame(codec, {"t": "auth", "token": "x"})) == Auth("x")
    assert codec.decode_command(raw_frame(codec, {"since": "1-0", "token": "x", "t": "auth"})) == Auth("x", "1-0")


def test_msgpack_only_hostilities() -> None:
    def frame(user: bytes) -> bytes:  # a hello whose user map is `user`, raw
        return (b"\x84\xa1t\xa5hello\xaasession_id\xa1s\xa4user" + user + b"\xa9recovered\xc3")

    assert MSGPACK.decode_server(frame(b"\x81\xa1a\x01")) == Hello("s", {"a": 1}, True)
    assert MSGPACK.decode_server(typing.cast(bytes, bytearray(frame(b"\x80")))) == Hello("s", {}, True)
    bad_frames = [
        frame(b"\x81\xa1a\xa2\xff\xfe"),  # invalid UTF-8
        frame(b"\xdf\x80\x00\x00\x00"),  # a map claiming 2**31 entries
        b"\xdf\x80\x00\x00\x00",
        frame(b"\x81\xa1a\xdd\x80\x00\x00\x00"),  # a list claiming 2**31 items
        b"\xdb\x80\x00\x00\x00",  # a string claiming 2 GiB
        b"\xc6\x80\x00\x00\x00",  # bin claiming 2 GiB
        b"\x81\xa1t\xa4ping\xc0",  # trailing data
        b"\x81\xa1t\xa4pin",  # cut short
        b"\xc1",  # never used
        b"",
    ]
    for bad in bad_frames:
        assert code_of(MSGPACK.decode_server, bad) == "bad_frame", bad
    bad_messages = [
        frame(b"\x81\x01\x01"),  # an int key
        frame(b"\x81\x91\x01\x01"),  # a list key
        frame(b"\x81\xa1a\x81\x01\x01"),  # an int key, deeper
        frame(b"\x81\xa1a\x81\x91\x01\x01"),  # a list key, deeper
        frame(b"\x81\xa1a\xd4\x05\x01"),  # an ext type
        frame(b"\x81\xa1a\xd6\xff\x00\x00\x00\x01"),  # the timestamp ext type
        frame(b"\x81\xa1a\xc7\x00\x05"),  # an empty ext
        frame(b"\x81\xc4\x01a\x01"),  # a bin key
        frame(b"\x81\xa1a\xc4\x01a"),  # a bin value
        frame(b"\x81\xa1a\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00"),  # NaN
        frame(b"\x81\xa1a\xcb\x7f\xf0\x00\x00\x00\x00\x00\x00"),  # Infinity
        b"\x82\xc4\x01t\xa4ping\xa1t\xa4ping",  # a bin key beside "t"
    ]
    for bad in bad_messages:
        assert code_of(MSGPACK.decode_server, bad) == "bad_message", bad
    assert code_of(MSGPACK.decode_command, b"\x82\xa1t\xa4auth\xa5token\xc4\x01x") == "bad_message"


def test_json_only_hostilities() -> None:
    hello = '{"t":"hello","session_id":"s","user":%s,"recovered":true}'
    assert JSON.decode_server(hello % '{"a":1.5e3,"b":[null]}') == Hello("s", {"a": 1500.0, "b": [None]}, True)
    assert JSON.decode_server(hello % '{"a":1,"a":2}') == Hello("s", {"a": 2}, True)  # last wins
    for bad in ['{"x":NaN}', '{"x":-Infinity}', '{"x":Infinity}', "{'x':1}",
                '{"x":"\\udc00"}']:  # the last, an escaped lone surrogate
        assert code_of(JSON.decode_server, hello % bad) == "bad_frame", bad
    for bad in ['{"x":1e400}', '{"x":' + "1" * 5000 + "}", '{"x":' + str(2**64) + "}",
                '{"x":[' + str(-(2**63) - 1) + "]}"]:  # numbers msgpack cannot carry
        assert code_of(JSON.decode_server, hello % bad) == "bad_message", bad
    assert code_of(JSON.decode_server, hello % '{"x":"\udc00"}') == "bad_frame"  # text that is not UTF-8
    assert code_of(JSON.decode_command, '{"t":"ping"} {"t":"ping"}') == "bad_frame"
    assert code_of(JSON.decode_command, "") == "bad_frame"
    assert JSON.decode_command(' {"t":"ping"}\n') == Ping()


@pytest.mark.parametrize("codec", BOTH, ids=lambda c: c.name)
def test_wrong_frame_type(codec: Codec) -> None:
    frame = codec.encode(Ping())
    other: str | bytes = frame.encode() if isinstance(frame, str) else frame.decode("latin-1")
    for decode in (codec.decode_command, codec.decode_server):
        assert code_of(decode, other) == "wrong_frame_type"
        assert code_of(decode, None) == "wrong_frame_type"
        assert code_of(decode, 42) == "wrong_frame_type"


def test_deep_nesting_10000_levels() -> None:
    depth = 10_000
    assert code_of(JSON.decode_server, "[" * depth + "]" * depth) == "bad_message"  # no map
    assert code_of(MSGPACK.decode_server, b"\x91" * depth + b"\xc0") == "bad_message"
    assert code_of(JSON.decode_server, '{"t":"ping","x":' + "[" * depth + "]" * depth + "}") == "bad_message"
    json_frames = [
        '{"a":' * depth + "1" + "}" * depth,
        '{"t":"hello","session_id":"s","user":{"a":' + "[" * depth + "]" * depth + '},"recovered":true}',
    ]
    for frame in json_frames:
        assert code_of(JSON.decode_server, frame) == "bad_frame"
    msgpack_frames = [
        b"\x81\xa1a" * depth + b"\xc0",
        b"\x84\xa1t\xa5hello\xaasession_id\xa1s\xa4user\x81\xa1a" + b"\x91" * depth + b"\xc0"
        + b"\xa9recovered\xc3",
    ]
    for packed in msgpack_frames:
        assert code_of(MSGPACK.decode_server, packed) == "bad_frame"


@pytest.mark.parametrize("codec", BOTH, ids=lambda c: c.name)
def test_nesting_limit(codec: Codec) -> None:
    def hello(lists: int) -> Hello:  # depth: the message, user, then the lists
        value: Any = []
        for _ in range(lists - 1):
            value = [value]
        return Hello("s", {"a": value}, True)

    deepest = hello(MAX_DEPTH - 2)
    assert codec.decode_server(codec.encode(deepest)) == deepest
    with pytest.raises(ProtocolError) as caught:
        codec.decode_server(codec.encode(hello(MAX_DEPTH - 1)))
    assert caught.value.code == "bad_message" and "user.a" in caught.value.message


@pytest.mark.parametrize("codec", BOTH, ids=lambda c: c.name)
def test_frame_size_limit(codec: Codec) -> None:
    def dm(text: str) -> str | bytes:
        return codec.encode(DmSend("1", text, "c"))

    overhead = len(to_bytes(dm("")))
    biggest = dm("x" * (MAX_FRAME_BYTES - overhead - 2))  # msgpack's str16 header is longer
    assert len(to_bytes(biggest)) <= MAX_FRAME_BYTES
    assert isinstance(codec.decode_command(biggest), DmSend)
    assert code_of(codec.decode_command, dm("x" * MAX_FRAME_BYTES)) == "too_large"
    # under the limit in characters, over it in UTF-8 bytes
    assert code_of(codec.decode_command, dm("é" * (MAX_FRAME_BYTES * 3 // 4))) == "too_large"
    huge: str | bytes = ("[" * 10 + "x" * 10_000_000) if not codec.binary else b"\x00" * 10_000_000
    assert code_of(codec.decode_command, huge) == "too_large"


def to_bytes(frame: str | bytes) -> bytes:
    return frame.encode() if isinstance(frame, str) else frame


# The examples of docs/protocol.md


def example_blocks(message: Message, direction: str) -> str:
    """The doc's pair of examples for `message`: its JSON text, then its msgpack bytes in
    hex. `direction` is "command", "server" or "both" (which decoders take it)."""
    packed = MSGPACK.encode(message)
    hexdump = "\n".join(packed[i:i + 16].hex(" ") for i in range(0, len(packed), 16))
    return (f"```json {direction}\n{JSON.encode(message)}\n```\n\n"
            f"```msgpack {direction}\n{hexdump}\n```")


EXAMPLE_PAIR = re.compile(
    r"^```json (command|server|both)\n(.*?)\n```\n\n```msgpack \1\n(.*?)\n```$", re.M | re.S)


def test_doc_examples_decode_and_encode_back_exactly() -> None:
    doc = DOC.read_text(encoding="utf-8")
    pairs = list(EXAMPLE_PAIR.finditer(doc))
    assert len(re.findall(r"^```(?:json|msgpack) ", doc, re.M)) == 2 * len(pairs)  # no stray block
    covered: dict[str, set[type]] = {"command": set(), "server": set()}
    for pair in pairs:
        direction, text, hexdump = pair.groups()
        packed = bytes.fromhex(hexdump)
        sides = ["command", "server"] if direction == "both" else [direction]
        decoded: list[Message] = []
        if "command" in sides:
            decoded += [JSON.decode_command(text), MSGPACK.decode_command(packed)]
        if "server" in sides:
            decoded += [JSON.decode_server(text), MSGPACK.decode_server(packed)]
        message = decoded[0]
        assert all(other == message for other in decoded), pair[0]
        assert example_blocks(message, direction) == pair[0]
        for side in sides:
            covered[side].add(type(message))
    assert covered["command"] == set(COMMANDS.values())
    assert covered["server"] == set(SERVER_MESSAGES.values())


def test_doc_states_close_codes_and_limits() -> None:
    text = " ".join(DOC.read_text(encoding="utf-8").split())
    for code in CloseCode:
        assert f"| {code.value} | `{code.name}` |" in text
    for fact in (f"`{JSON_SUBPROTOCOL}` | text", f"`{MSGPACK_SUBPROTOCOL}` | binary",
                 f"at most {MAX_FRAME_BYTES:,} bytes", f"at most {MAX_DEPTH} deep"):
        assert fact in text, fact


DOC_TYPES = {"string": str, "bool": bool, "map": dict[str, Any],
             "string, optional": str | None}
FIELD_ROW = re.compile(r"^\| `(\w+)` \| ([\w, ]+?) \|", re.M)


def test_doc_field_tables_match_the_types() -> None:
    """Each message's section in the reference lists its Struct's fields, in wire order,
    with their types; a field the doc calls optional defaults to None (left off)."""
    reference = DOC.read_text(encoding="utf-8").split("## Message reference", 1)[1]
    seen: set[type] = set()
    for part in re.split(r"^### ", reference, flags=re.M)[1:]:
        heading = part.split("\n", 1)[0]
        table = COMMANDS if "Client → server" in heading else SERVER_MESSAGES
        for section in re.split(r"^#### ", part, flags=re.M)[1:]:
            name = re.match(r"`([\w.]+)`", section)
            assert name is not None, section[:40]
            cls = table[name[1]]
            rows = FIELD_ROW.findall(section)
            assert rows or "No fields." in section, name[1]
            fields = msgspec.structs.fields(cls)
            assert [(f.name, f.type) for f in fields] == [(n, DOC_TYPES[t]) for n, t in rows], name[1]
            assert all((f.default is None) == (f.type == str | None) for f in fields), name[1]
            seen.add(cls)
    assert seen == set(ALL_CLASSES)
