"""--context: notebook variables as bounded, readable prompt content."""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
import pytest
from conftest import error_text, final_markdown
from PIL import Image

from claude_magic.context import Limits, describe


def sent_blocks(nb):
    return nb.requests[-1]["body"]["messages"][-1]["content"]


def test_dataframe_is_shape_dtypes_and_head_tail(nb):
    nb.ns["df"] = pd.DataFrame({"x": range(1000), "name": [f"n{i}" for i in range(1000)]})
    _, captured = nb.run("%%claude --context df\nSummarise df")
    text = sent_blocks(nb)[0]["text"]
    assert "DataFrame with 1,000 rows × 2 columns" in text and "x: int64" in text
    assert "n0" in text and "n999" in text and "n500" not in text
    assert sent_blocks(nb)[-1] == {"type": "text", "text": "Summarise df"}
    assert "context: df (DataFrame 1000×2)" in final_markdown(captured)


def test_array_by_shape_dtype_and_sample():
    block, label = describe("a", np.arange(10_000).reshape(100, 100), Limits())
    assert label == "array 100×100 int64"
    assert "shape=(100, 100)" in block["text"] and "..." in block["text"] and len(block["text"]) < 1000


def test_images_become_image_blocks(nb):
    image = Image.new("RGB", (8, 4), "red")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    nb.ns.update(img=image, png=buffer.getvalue())
    nb.run("%%claude --context img,png\nWhat colour?")
    blocks = sent_blocks(nb)
    images = [b for b in blocks if b["type"] == "image"]
    assert len(images) == 2 and all(b["source"]["media_type"] == "image/png" for b in images)
    assert base64.b64decode(images[1]["source"]["data"]) == buffer.getvalue()
    assert blocks[0] == {"type": "text", "text": "Variable `img` (image 8×4):"}


def test_matplotlib_figure_is_an_image():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 1))
    figure.add_subplot().plot([1, 2, 3])
    block, label = describe("fig", figure, Limits())
    assert block["type"] == "image" and label == "image 200×100"
    assert base64.b64decode(block["source"]["data"]).startswith(b"\x89PNG")


def test_anything_else_is_a_truncated_repr():
    block, label = describe("big", list(range(100_000)), Limits(chars=100))
    assert label == "list" and "shortened to 100 characters; the whole is a list of length 100,000" in block["text"]
    assert len(block["text"]) < 300


MB = 1 << 20


@pytest.mark.parametrize("make", [lambda: b"\x00" * (50 * MB), lambda: "x" * (50 * MB), lambda: [0] * (6 * MB)],
                         ids=["bytes", "str", "list"])
def test_a_huge_variable_is_cut_without_building_its_whole_repr(nb, make):
    import sys
    import tracemalloc

    nb.ns["big"] = make()
    size = sys.getsizeof(nb.ns["big"])
    assert size >= 48 * MB
    nb.run("%%claude\nWarm up")  # the SDK's first import is not what is measured
    tracemalloc.start()
    try:
        result, captured = nb.run("%%claude --context big\nWhat is big?")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        del nb.ns["big"]
    assert result.error_in_exec is None, error_text(captured)
    assert peak < size / 10  # the old full repr took more than the object itself
    text = sent_blocks(nb)[0]["text"]
    assert len(text) < 4200 and "shortened to 4,000 characters; the whole is a " in text
    assert "context: big (" in final_markdown(captured)


@pytest.mark.parametrize("cell", ["%%claude --context missing\nhi"])
def test_unknown_variable_is_bad_input(nb, cell):
    _, captured = nb.run(cell)
    assert "there is no variable 'missing'" in error_text(captured) and nb.requests == []
