"""`--web`: the web search server tool, its searches shown, its sources as footnotes, its cost counted."""

from __future__ import annotations

import anthropic
import pytest
from conftest import error_text, final_markdown

from claude_magic.costs import Ledger
from claude_magic.models import WEB_SEARCH_USD
from claude_magic.simulator import Reply
from claude_magic.web import WEB_SEARCH, searches


def test_web_offers_the_search_tool_with_max_uses(nb):
    nb.run("%%claude --web\nWhat happened in Python packaging this week?")
    assert nb.requests[-1]["body"]["tools"] == [{"type": WEB_SEARCH, "name": "web_search", "max_uses": 5}]
    nb.run("%%claude --web 2\nAgain, briefly.")
    assert nb.requests[-1]["body"]["tools"][-1]["max_uses"] == 2


def test_the_version_is_one_the_sdk_knows():
    from anthropic import types

    assert hasattr(types, "WebSearchTool" + WEB_SEARCH.removeprefix("web_search_") + "Param")


@pytest.mark.parametrize(("flag", "expected"), [("--web 0", "at least 1"), ("--web -3", "at least 1"),
                                                ("--web many", "invalid int value")])
def test_bad_max_uses_is_one_line(nb, flag, expected):
    _, captured = nb.run(f"%%claude {flag}\nq")
    shown = error_text(captured).strip()
    assert expected in shown and "Traceback" not in shown and nb.requests == []


def test_searches_show_query_and_sources_and_answer_has_footnotes(nb):
    result, captured = nb.run("%%claude --web\nLatest pandas release")
    assert result.error_in_exec is None, error_text(captured)
    markdown = final_markdown(captured)
    assert "🔎 Searching the web for *Latest pandas release*…" in markdown
    assert "Found: [Latest Pandas Release — example.com](https://example.com/latest-pandas-release)" in markdown
    assert "[1]" in markdown and "**Sources**" in markdown
    assert "— [Latest Pandas Release — example.org](https://example.org/latest-pandas-release)" in markdown
    footer = markdown.rsplit("\n\n", 1)[1]
    assert "🔎 1 web search" in footer
    message = nb.ns["last_message"]
    assert [b.type for b in message.content][:3] == ["text", "server_tool_use", "web_search_tool_result"]
    assert searches([message]) == message.usage.server_tool_use.web_search_requests == 1


def test_next_cell_after_a_search_sends_a_valid_history(nb):
    nb.run("%%claude --web\nWho won the match?")
    result, captured = nb.run("%%claude\nSummarise that in one line.")
    assert result.error_in_exec is None, error_text(captured)
    assistant = nb.requests[-1]["body"]["messages"][1]
    kinds = [block["type"] for block in assistant["content"]]
    assert "server_tool_use" in kinds and "web_search_tool_result" in kinds
    use = next(b for b in assistant["content"] if b["type"] == "server_tool_use")
    result_block = next(b for b in assistant["content"] if b["type"] == "web_search_tool_result")
    assert result_block["tool_use_id"] == use["id"]


def test_usage_counts_and_prices_web_searches(nb):
    nb.run("%%claude --web\nq one")
    nb.run("%%claude --web\nq two")
    _, captured = nb.run("%claude usage")
    table = final_markdown(captured)
    assert "web searches" in table.splitlines()[0]
    assert "| 2 | \\$" in next(line for line in table.splitlines() if line.startswith("| default"))


def test_search_price_is_added_to_the_token_cost():
    from anthropic.types import Message

    message = Message.model_validate({
        "id": "m", "type": "message", "role": "assistant", "model": "claude-sonnet-5-5", "content": [],
        "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 0, "output_tokens": 0, "server_tool_use": {"web_search_requests": 3,
                                                                              "web_fetch_requests": 0}},
    })
    ledger = Ledger()
    ledger.add("default", message)
    assert f"| 3 | \\${3 * WEB_SEARCH_USD:,.4f} |" in ledger.table({})


def test_simulator_checks_the_tool_like_the_api(nb):
    client = anthropic.Anthropic(base_url=nb.sim.url, api_key="test", max_retries=0)
    for tool, words in [({"type": "web_search_19990101", "name": "web_search"}, "unknown tool type"),
                        ({"type": WEB_SEARCH, "name": "web_search", "max_uses": 0}, "greater than 0"),
                        ({"type": WEB_SEARCH, "name": "web_search", "allowed_domains": ["a.com"],
                          "blocked_domains": ["b.com"]}, "not both")]:
        with pytest.raises(anthropic.BadRequestError, match=words):
            client.messages.create(model="claude-sonnet-5-5", max_tokens=50, tools=[tool],
                                   messages=[{"role": "user", "content": "q"}])


def test_simulator_searches_only_allowed_domains(nb):
    client = anthropic.Anthropic(base_url=nb.sim.url, api_key="test", max_retries=0)
    tool = {"type": WEB_SEARCH, "name": "web_search", "allowed_domains": ["docs.python.org"]}
    message = client.messages.create(model="claude-sonnet-5-5", max_tokens=500, tools=[tool],
                                     messages=[{"role": "user", "content": "asyncio"}])
    result = next(b for b in message.content if b.type == "web_search_tool_result")
    assert [r.url for r in result.content] == ["https://docs.python.org/asyncio"]
    cited = [c for b in message.content if b.type == "text" for c in b.citations or []]
    assert cited and all(c.type == "web_search_result_location" for c in cited)


def test_the_search_shows_while_the_answer_streams(nb):
    from conftest import FakeClock

    nb.session.clock = FakeClock(step=1.0)  # every update is let through
    _, captured = nb.run("%%claude --web\nRust release notes")
    live = [o.data["text/markdown"] for o in captured.outputs[:-1] if o.update]
    searching = [m for m in live if "🔎 Searching the web for" in m]
    assert searching and "Found:" not in searching[0]  # the query shows before the results are in
    assert any("Found: [" in m and "**Sources**" not in m for m in live)  # then what it found, before footnotes


def test_stop_mid_search_answer_keeps_the_partial_and_the_next_cell_is_valid(nb):
    import os
    import signal
    import threading
    import time

    from claude_magic.simulator import Reply

    found = {"type": "web_search_result", "url": "https://example.com/n", "title": "News", "encrypted_content": "eA=="}
    nb.sim.queue(Reply(content=(
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "news"}},
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": [found]},
        {"type": "text", "text": " ".join(f"w{i}" for i in range(200))},
    ), pace=20))  # 50 ms a delta: the Stop lands mid-answer
    def stop_once_asked():
        while not nb.requests:
            time.sleep(0.01)
        time.sleep(1.5)  # the first stream of a process also pays for the SDK's lazy imports
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Thread(target=stop_once_asked)
    timer.start()
    result, captured = nb.run("%%claude --web\nA long question about the news")
    timer.join()
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    shown = final_markdown(captured)
    assert "⏹ stopped" in shown and "🔎 Searching the web for *news*" in shown and "Found: [News]" in shown
    assert nb.ns["last_message"].stop_reason is None
    result, captured = nb.run("%%claude\nhi")
    assert result.error_in_exec is None, error_text(captured)
    assert nb.requests[-1]["body"]["messages"] == [{"role": "user", "content": "hi"}]


def test_count_shows_the_tool_and_documents_without_asking(nb, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("Alpha. Beta.")
    result, captured = nb.run("%%claude --web --file a.txt --count\nq")
    assert result.error_in_exec is None, error_text(captured)
    shown = final_markdown(captured)
    assert "Tools: `web_search`" in shown and "\\[document\\]" in shown and nb.requests == []


def test_a_paused_turn_is_sent_back_to_go_on_and_kept_as_one_assistant_turn(nb):
    from claude_magic.simulator import Reply

    found = {"type": "web_search_result", "url": "https://example.org/a", "title": "A", "encrypted_content": "eA=="}
    paused = (
        {"type": "text", "text": "Searching first."},
        {"type": "server_tool_use", "id": "srvtoolu_p", "name": "web_search", "input": {"query": "a"}},
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_p", "content": [found]},
    )
    nb.sim.queue(Reply(content=paused, stop_reason="pause_turn"), Reply.text("All done."))
    result, captured = nb.run("%%claude --web\nDig deep.")
    assert result.error_in_exec is None, error_text(captured)
    resumed = nb.requests[-1]["body"]["messages"]
    assert [m["role"] for m in resumed] == ["user", "assistant"]  # the paused turn, sent back as it came
    assert [b["type"] for b in resumed[-1]["content"]] == ["text", "server_tool_use", "web_search_tool_result"]
    markdown = final_markdown(captured)
    assert markdown.index("Found: [A](https://example.org/a)") < markdown.index("All done.")
    nb.run("%%claude\nThanks.")
    history = nb.requests[-1]["body"]["messages"]
    assert [m["role"] for m in history] == ["user", "assistant", "user"]
    assert [b["type"] for b in history[1]["content"]][-1] == "text" and history[1]["content"][-1]["text"] == "All done."


def test_a_terminal_prints_the_searches_the_markers_and_the_sources(nb):
    """Terminal IPython (display "text") prints deltas as they come: the sources must print there too."""
    nb.magics.display = "text"
    results = [{"url": "https://a.example/1", "title": "First <b>page</b>", "snippet": "Alpha passage."},
               {"url": "javascript:alert(1)", "title": "Second", "snippet": "Beta passage."}]
    nb.sim.queue(Reply.web_search(results, query="greek letters"))
    result, captured = nb.run("%%claude --web --events\nWhat are the first letters?")
    assert result.error_in_exec is None, error_text(captured)
    printed = captured.stdout
    assert "🔎 Searching the web for *greek letters*…" in printed
    assert "Found: [First &lt;b&gt;page&lt;/b&gt;](https://a.example/1) · Second (javascript:alert(1))" in printed
    assert "Claim 1. [1]" in printed and "Claim 2. [2]" in printed
    sources = printed[printed.index("**Sources**"):]
    assert "1. “Alpha passage.” — [First &lt;b&gt;page&lt;/b&gt;](https://a.example/1)" in sources
    assert "2. “Beta passage.” — Second (javascript:alert(1))" in sources
    assert sources.index("2. “Beta") < sources.index("end_turn")  # the footnotes, then the footer
    assert "| ms | event |" in sources  # and --events' timeline under the footer, as in a notebook
    assert printed.count("**Sources**") == 1


def test_a_terminal_prints_the_footnotes_of_cited_documents(nb, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.md").write_text("Ravens can solve puzzles. They remember faces.\n", encoding="utf-8")
    nb.magics.display = "text"
    result, captured = nb.run("%%claude --cite --file notes.md\nWhat do ravens do?")
    assert result.error_in_exec is None, error_text(captured)
    printed = captured.stdout
    assert " [1]" in printed and "**Sources**" in printed
    assert "1. “Ravens can solve puzzles.” — *notes.md*, characters" in printed
