from answers import message

from claude_magic.view.footer import footer


def test_footer_is_one_compact_line():
    line = footer([message([], cache_read_input_tokens=1000)], model="m", seconds=2.345, first_token=0.21,
                  state=None)
    assert line == ("claude-sonnet-5-5 · 1,200 in / 34 out · cache read 1,000 · end_turn · "
                    "first token 0.21 s · 2.3 s")
    assert "raise it with `--max-tokens N`" in footer([message([], "max_tokens")], model="m", seconds=1,
                                                      first_token=None, state=None, max_tokens=5)
    assert footer([], model="claude-x", seconds=0.5, first_token=None, state="✗ failed") == \
        "claude-x · ✗ failed · 0.5 s"
