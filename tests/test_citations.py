"""present(): how answers with sources read — joined text, [n] markers, footnotes, searches inline."""

from __future__ import annotations

from anthropic.types import Message

from claude_magic.view.citations import present
from claude_magic.view.markdown import markdown_of


def message(*content):
    return Message.model_validate({
        "id": "m", "type": "message", "role": "assistant", "model": "claude-sonnet-5-5", "content": list(content),
        "stop_reason": "end_turn", "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1},
    })


PAGES = {"type": "page_location", "cited_text": "Spring tides come twice a month.", "document_index": 0,
         "document_title": "tides.pdf", "start_page_number": 2, "end_page_number": 4}


def test_a_plain_answer_is_drawn_as_it_is():
    plain = message({"type": "text", "text": "Hi."})
    assert present(plain) is plain


def test_cited_passages_join_into_one_paragraph_and_a_passage_cited_twice_keeps_its_number():
    shown = markdown_of(present(message(
        {"type": "text", "text": "Tides: "},
        {"type": "text", "text": "they come twice a month", "citations": [PAGES]},
        {"type": "text", "text": ", as said, "},
        {"type": "text", "text": "twice", "citations": [PAGES]},
        {"type": "text", "text": "."},
    )))
    answer, notes = shown.split("\n\n", 1)
    assert answer == "Tides: they come twice a month [1], as said, twice [1]."
    assert notes == "**Sources**\n\n1. “Spring tides come twice a month.” — *tides.pdf*, pp. 2–3"


def test_a_failed_search_says_why_and_markdown_in_titles_is_escaped():
    shown = markdown_of(present(message(
        {"type": "server_tool_use", "id": "s1", "name": "web_search", "input": {"query": "*bold* [x]"}},
        {"type": "web_search_tool_result", "tool_use_id": "s1",
         "content": {"type": "web_search_tool_result_error", "error_code": "max_uses_exceeded"}},
        {"type": "text", "text": "No luck."},
    )))
    assert "🔎 Searching the web for *\\*bold\\* \\[x\\]*…" in shown
    assert "⚠ The web search failed (max_uses_exceeded)." in shown and shown.endswith("No luck.")


def test_many_sources_are_listed_compactly():
    results = [{"type": "web_search_result", "url": f"https://example.com/{n}", "title": f"T{n}",
                "encrypted_content": "x"} for n in range(8)]
    shown = markdown_of(present(message(
        {"type": "server_tool_use", "id": "s1", "name": "web_search", "input": {"query": "q"}},
        {"type": "web_search_tool_result", "tool_use_id": "s1", "content": results},
    )))
    assert "[T4](https://example.com/4) and 3 more" in shown and "T5" not in shown


def test_a_structured_answer_is_a_json_block():
    shown = markdown_of(present(message({"type": "text", "text": '{"x": 1}'}), structured=True))
    assert shown == '```json\n{"x": 1}\n```'
