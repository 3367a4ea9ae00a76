"""Unit tests for the Jupyter probe's pure parts (message parsing, URL handling)."""

from __future__ import annotations

import pytest

from plugins.module_utils._jupyter_probe import ProbeError, Session, _message, output_text


def _reply(msg_id: str, msg_type: str, content: dict) -> dict:
    return {"parent_header": {"msg_id": msg_id}, "msg_type": msg_type, "content": content}


def test_output_text_collects_stream_result_and_display_data_in_order() -> None:
    messages = [
        _reply("a", "status", {"execution_state": "busy"}),
        _reply("a", "stream", {"name": "stdout", "text": "hello\n"}),
        _reply("a", "display_data", {"data": {"text/plain": "[1] 2"}}),
        _reply("a", "execute_result", {"data": {"text/plain": "2", "text/html": "<b>2</b>"}}),
        _reply("other", "stream", {"text": "not ours"}),
    ]
    assert output_text(messages, "a") == "hello\n[1] 22"


def test_output_text_reports_errors() -> None:
    messages = [_reply("a", "error", {"ename": "NameError", "evalue": "name 'x' is not defined"})]
    assert output_text(messages, "a") == "NameError: name 'x' is not defined"


def test_execute_request_follows_the_messaging_protocol() -> None:
    msg = _message("1+1", "sess")
    assert msg["header"]["msg_type"] == "execute_request"
    assert msg["header"]["session"] == "sess"
    assert msg["content"]["code"] == "1+1"
    assert msg["channel"] == "shell"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://host/", "127.0.0.1:9999"])
def test_only_http_urls_are_accepted(url: str) -> None:
    with pytest.raises(ProbeError, match="http"):
        Session(url)


def test_url_joins_paths_under_a_base_url_with_a_prefix() -> None:
    session = Session("https://127.0.0.1:9999/user/alice")
    assert session.url("api/kernelspecs") == "https://127.0.0.1:9999/user/alice/api/kernelspecs"
    assert session.url("/login") == "https://127.0.0.1:9999/user/alice/login"
