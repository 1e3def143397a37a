"""The kernel's half of the stream renderer's protocol: the changes it sends rebuild exactly what it means.

The page counts in UTF-16 units, as JavaScript strings do; these tests rebuild the text the same way.
The whole path, kernel to page, is in test_frontend.py (a real kernel) and test_browser.py (JupyterLab).
"""

from __future__ import annotations

import random

import pytest
from page_protocol import rebuilt

from claude_magic.view.renderer_surface import RendererSurface, change, common_prefix, patch, utf16

TEXTS = ["", "a", "plain words", "emoji 🎉 and 𝔘 outside the BMP", "line\n\n" * 5, "ünï ✓ ∑"]


@pytest.mark.parametrize("a", TEXTS)
@pytest.mark.parametrize("b", TEXTS)
def test_common_prefix_and_change(a, b):
    keep = common_prefix(a, b)
    assert a[:keep] == b[:keep] and (keep == min(len(a), len(b)) or a[keep] != b[keep])
    edit = change(a, b)
    if a == b:
        assert edit is None
    else:
        where, text = edit
        assert (a.encode("utf-16-le")[: 2 * where] + text.encode("utf-16-le")).decode("utf-16-le") == b


def test_utf16_counts_what_javascript_counts():
    assert utf16("a🎉𝔘é") == 6  # 1 + 2 + 2 + 1, as "a🎉𝔘é".length in a browser


def test_a_patch_rebuilds_the_final_answer_and_carries_little_of_what_the_page_has():
    generator = random.Random(7)
    words = ["alpha", "beta 🎉", "𝔘nicode", "`code`", "| a | b |", "```", "- item", "\n", "\n\n", " "]
    for _ in range(200):
        page = "".join(generator.choice(words) + " " for _ in range(generator.randrange(0, 300)))
        final = list(page)
        for _ in range(generator.randrange(0, 4)):  # a few small differences, as a live view has
            at = generator.randrange(0, len(final) + 1)
            final[at:at + generator.randrange(0, 3)] = generator.choice(["", " ", "\n", "x🎉"])
        final = "".join(final) + generator.choice(["", "\n```", "\n\n<sub>claude · 5 in / 9 out · end_turn</sub>"])
        pieces = patch(page, final)
        assert rebuilt(page, pieces) == final
        assert sum(len(piece) for piece in pieces if isinstance(piece, str)) <= len(final) - len(page) + 200


def test_a_long_answer_that_only_gained_its_footer_sends_only_the_footer():
    page = "## Title\n\n" + "Words of the answer. " * 20_000 + "\n\nLast line without its newline."
    final = page + "\n\n<sub>claude-sonnet-5-5 · 10 in / 20,000 out · end_turn</sub>"
    pieces = patch(page, final)
    assert rebuilt(page, pieces) == final
    assert [piece for piece in pieces if isinstance(piece, str)] == ["\n\n<sub>claude-sonnet-5-5 · 10 in / 20,000 out · end_turn</sub>"]


class Page:
    """The comm's kernel side, as the surface uses it: what it sent."""

    token = "kernel"
    present = True

    def __init__(self):
        self.sent = []

    def send(self, data):
        self.sent.append(data)


def test_a_streaming_update_worth_less_than_its_envelope_waits_for_the_floor_and_a_status_never_waits():
    now = [0.0]
    page = Page()
    surface = RendererSurface({"text/markdown": "⏳ Asking", "text/plain": "⏳ Asking"}, page, clock=lambda: now[0])
    texts = lambda: [op[2] for data in page.sent for op in data["ops"] if op[0] == "t"]  # noqa: E731
    surface.show({"text/markdown": "Hello"})
    surface.flush(streaming=True)
    assert texts() == ["Hello"]  # the first update goes at once
    now[0] = 0.04
    surface.show({"text/markdown": "Hello world"})
    surface.flush(streaming=True)
    assert texts() == ["Hello"]  # 6 characters, 40 ms after the last: not worth a message yet
    now[0] = 0.08
    surface.show({"text/markdown": "Hello world" + "x" * 700})
    surface.flush(streaming=True)
    assert texts() == ["Hello", " world" + "x" * 700]  # worth its envelope: sent, with what waited
    now[0] = 0.09
    surface.show({"text/markdown": "⏸ waits for your answer below."})
    surface.flush()
    assert len(page.sent) == 3  # a status goes at once
    now[0] = 0.10
    surface.show({"text/markdown": "⏸ waits for your answer below. More"})
    surface.flush(streaming=True)
    assert len(page.sent) == 3
    now[0] = 0.2
    surface.show({"text/markdown": "⏸ waits for your answer below. More."})
    surface.flush(streaming=True)
    assert texts()[-1] == " More."  # past the floor: sent however little
