from __future__ import annotations

import pytest

from gateway.ami.protocol import (
    MAX_HEADERS,
    MAX_LINE_BYTES,
    AmiParser,
    AmiProtocolError,
    HeaderLineTooLong,
    Message,
    TooManyHeaders,
    UnsafeAction,
    UnsafeHeaderName,
    UnsafeHeaderValue,
    encode_action,
)

# -- encode_action ------------------------------------------------------------------------


def test_encode_simple_action() -> None:
    data = encode_action({"Action": "Ping", "ActionID": "a:1"})
    assert data == b"Action: Ping\r\nActionID: a:1\r\n\r\n"


def test_list_values_become_repeated_headers_in_order() -> None:
    data = encode_action({"Action": "Originate", "Variable": ["A=1", "B=x=y"], "Async": "true"})
    assert data == (b"Action: Originate\r\nVariable: A=1\r\nVariable: B=x=y\r\nAsync: true\r\n\r\n")


def test_utf8_values_are_encoded() -> None:
    assert encode_action({"CallerID": '"Zoë" <100>'}) == 'CallerID: "Zoë" <100>\r\n\r\n'.encode()


@pytest.mark.parametrize(
    "value",
    [
        "x\r\nAction: Originate",
        "x\nAction: Hangup",
        "x\r",
        "x\x00y",
        "\ttab",
        "bell\x07",
        "del\x7f",
        "c1\x85",
        "esc\x1b[0m",
    ],
)
def test_control_characters_in_values_are_refused(value: str) -> None:
    with pytest.raises(UnsafeHeaderValue) as info:
        encode_action({"Action": "Originate", "CallerID": value})
    assert isinstance(info.value, ValueError)
    assert value not in str(info.value)  # the message never quotes the value


def test_control_characters_in_list_items_are_refused() -> None:
    with pytest.raises(UnsafeHeaderValue):
        encode_action({"Variable": ["A=1", "B=2\r\nAction: Hangup"]})


@pytest.mark.parametrize(
    "key", ["", "Action\r\nX", "Act\nion", "A\x00", "Bad Key", "Key:", "Ké", "A\tB"]
)
def test_unsafe_header_names_are_refused(key: str) -> None:
    with pytest.raises(UnsafeHeaderName):
        encode_action({key: "v"})


def test_secret_never_in_error_message() -> None:
    with pytest.raises(UnsafeAction) as info:
        encode_action({"Action": "Login", "Secret": "hunter2\r\n"})
    assert "hunter2" not in str(info.value)


def test_header_line_length_limit() -> None:
    # "Variable: " is 10 bytes, the CRLF 2: a line of exactly MAX_LINE_BYTES passes.
    ok = "x" * (MAX_LINE_BYTES - 12)
    encode_action({"Variable": ok})
    with pytest.raises(HeaderLineTooLong):
        encode_action({"Variable": ok + "x"})


def test_header_line_length_counts_utf8_bytes() -> None:
    ok = "é" * ((MAX_LINE_BYTES - 12) // 2)
    encode_action({"Variable": ok})
    with pytest.raises(HeaderLineTooLong):
        encode_action({"Variable": ok + "é"})


def test_header_count_limit() -> None:
    encode_action({"Action": "Originate", "Variable": ["A=1"] * (MAX_HEADERS - 1)})
    with pytest.raises(TooManyHeaders):
        encode_action({"Action": "Originate", "Variable": ["A=1"] * MAX_HEADERS})


def test_non_string_values_are_a_type_error() -> None:
    with pytest.raises(TypeError):
        encode_action({"Priority": 1})  # type: ignore[dict-item]


def test_empty_action_refused() -> None:
    with pytest.raises(UnsafeAction):
        encode_action({})


# -- AmiParser ----------------------------------------------------------------------------

STREAM = (
    b"Asterisk Call Manager/9.0.0\r\n"
    b"Response: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\n\r\n"
    b"Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n"
    b"Event: VarSet\r\nChannel: PJSIP/x-1\r\nValue: a: b:c\r\nUniqueid: u-1\r\n\r\n"
    b"Event: Status\r\nChanVariable: A=1\r\nChanVariable: B=2\r\nUniqueid: u-2\r\n"
    b"ChanVariable: C=3\r\n\r\n"
    b"Event: Hangup\r\nCallerIDName: Zo\xc3\xab\r\nCause: 16\r\nCause-txt: Normal Clearing\r\n"
    b"AccountCode: \r\n\r\n"
)


def _check_stream(messages: list[Message], parser: AmiParser) -> None:
    assert parser.greeting == "Asterisk Call Manager/9.0.0"
    assert [m.get("Event") or m.get("Response") for m in messages] == [
        "Success",
        "FullyBooted",
        "VarSet",
        "Status",
        "Hangup",
    ]
    login, booted, varset, status, hangup = messages
    assert login.is_response and not login.is_event and login.action_id == "1"
    assert booted.is_event and booted.event == "FullyBooted" and booted.response is None
    assert booted["Status"] == "Fully Booted"
    assert varset["Value"] == "a: b:c"
    assert status.get("ChanVariable") == "A=1"
    assert status.get_all("ChanVariable") == ["A=1", "B=2", "C=3"]
    assert status.get_all("Uniqueid") == ["u-2"]
    assert status.get_all("Missing") == []
    assert hangup["CallerIDName"] == "Zoë"
    assert hangup["Cause-txt"] == "Normal Clearing"
    assert hangup["AccountCode"] == ""


def test_parse_whole_stream() -> None:
    parser = AmiParser()
    _check_stream(parser.feed(STREAM), parser)


def test_parse_split_at_every_offset() -> None:
    for cut in range(len(STREAM) + 1):
        parser = AmiParser()
        messages = parser.feed(STREAM[:cut]) + parser.feed(STREAM[cut:])
        _check_stream(messages, parser)


def test_parse_byte_by_byte() -> None:
    parser = AmiParser()
    messages: list[Message] = []
    for i in range(len(STREAM)):
        messages += parser.feed(STREAM[i : i + 1])
    _check_stream(messages, parser)


def test_parse_bare_lf_and_mixed_line_ends() -> None:
    stream = STREAM.replace(b"\r\n", b"\n")
    parser = AmiParser()
    _check_stream(parser.feed(stream), parser)
    mixed = STREAM.replace(b"Cause: 16\r\n", b"Cause: 16\n").replace(
        b"Fully Booted\r\n\r\n", b"Fully Booted\n\r\n"
    )
    parser = AmiParser()
    _check_stream(parser.feed(mixed), parser)


def test_parse_bare_lf_split_everywhere() -> None:
    stream = STREAM.replace(b"\r\n", b"\n")
    for cut in range(len(stream) + 1):
        parser = AmiParser()
        _check_stream(parser.feed(stream[:cut]) + parser.feed(stream[cut:]), parser)


def test_no_greeting_and_extra_blank_lines() -> None:
    parser = AmiParser()
    messages = parser.feed(b"\r\n\r\nEvent: A\r\nX: 1\r\n\r\n\r\n\r\nEvent: B\r\n\r\n")
    assert [m.event for m in messages] == ["A", "B"]
    assert parser.greeting is None


def test_value_without_space_after_colon() -> None:
    [message] = AmiParser().feed(b"Event: A\r\nKey:value:x\r\nEmpty:\r\n\r\n")
    assert message["Key"] == "value:x"
    assert message["Empty"] == ""


def test_incomplete_message_is_kept_until_its_blank_line() -> None:
    parser = AmiParser()
    assert parser.feed(b"Event: A\r\nUniqueid: 1\r\n") == []
    assert parser.feed(b"Cause: 17\r\n") == []
    [message] = parser.feed(b"\r\n")
    assert message == {"Event": "A", "Uniqueid": "1", "Cause": "17"}


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    [message] = AmiParser().feed(b"Event: A\r\nCallerIDName: \xff\xfe\r\n\r\n")
    assert message["CallerIDName"] == "\ufffd\ufffd"


def test_endless_line_is_a_protocol_error() -> None:
    parser = AmiParser(max_line=1000)
    parser.feed(b"x" * 900)
    with pytest.raises(AmiProtocolError):
        parser.feed(b"x" * 200)


def test_encoded_action_parses_back() -> None:
    action = {"Action": "Originate", "Variable": ["A=1", "B=a,b"], "CallerID": '"X" <1>'}
    [message] = AmiParser().feed(encode_action(action))
    assert message.get_all("Variable") == ["A=1", "B=a,b"]
    assert message["CallerID"] == '"X" <1>'
