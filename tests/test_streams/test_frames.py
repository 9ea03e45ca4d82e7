"""Framed batches of the internal topics: heads and event bytes kept as they are."""

from __future__ import annotations

import orjson
import pytest

from streams import frames


def test_a_batch_gives_back_each_head_and_body_byte_for_byte():
    items = [(b'{"family":"harassment"}', b' {"id": "a",\n "x": 1} '), (b"[]", b""), (b"{}", "你好".encode())]

    value = frames.batch([frames.frame(head, body) for head, body in items])

    assert frames.is_framed(value)
    assert list(frames.split(value)) == items


def test_a_json_array_of_an_earlier_version_is_not_taken_for_a_framed_batch():
    assert not frames.is_framed(orjson.dumps([{"family": "harassment", "event": {}}]))
    assert not frames.is_framed(b"")


@pytest.mark.parametrize("cut", [1, 5, 9, 15, 20])
def test_a_batch_cut_inside_an_item_is_an_error_not_a_shorter_batch(cut):
    """In its body (1-11 bytes cut), its head (12-13) or its lengths (14-20)."""
    value = frames.batch([frames.frame(b"{}", b'{"id": "a"}')] * 2)

    with pytest.raises(ValueError, match="cut short"):
        list(frames.split(value[:-cut]))
