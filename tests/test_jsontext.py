"""wf.jsontext.dumps_indented writes exactly what json.dumps(indent=2, ensure_ascii=False) writes
(``wf runs --json`` uses it for its large documents)."""

from __future__ import annotations

import enum
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wf.jsontext import dumps_indented


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**30, max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.sampled_from([Colour.RED, Level.HIGH, '\x00\n\t"\\é☃\ud800'])
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(children, children)
        | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=30,
)


def _same(document: Any) -> None:
    assert dumps_indented(document) == json.dumps(document, indent=2, ensure_ascii=False)


@settings(max_examples=400, deadline=None)
@given(DOCUMENTS)
def test_the_text_is_json_dumps_text(document: Any) -> None:
    _same(document)


@pytest.mark.parametrize(
    "document",
    [
        {},
        [],
        {"a": {}, "b": [], "c": [[]], "d": [{}]},
        {"runs": [{"id": "x", "tags": ["n"], "error": None, "n": 0, "ok": True, "f": 0.1}] * 3},
        {1: "int key", None: "none key", 2.5: "float key", False: "bool key"},
        [float("nan"), float("inf"), -float("inf"), -0.0, 1e300],
    ],
)
def test_edge_documents(document: Any) -> None:
    _same(document)


def test_what_json_refuses_is_refused_the_same_way() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps_indented({"when": object()})
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        dumps_indented(loop)
