"""Values whose own code raises or hangs behind `{Out[N]}`, `--cells`, `--context` and `{name}`: a
placeholder for a raising repr (the rest is sent), one line for a slow one, one line for a Stop during it.

Cells run numbered in a real InteractiveShell; the request body the simulator received is checked.
"""

from __future__ import annotations

import pytest
from conftest import error_text

from claude_magic import showing

DEFINITIONS = '''
import os, signal, time

class Moody:
    """Shows itself once (when its cell runs), then its repr raises."""
    shown = 0
    def __repr__(self):
        Moody.shown += 1
        if Moody.shown > 1:
            raise ValueError("not today")
        return "Moody()"

class Sleepy:
    armed = False
    def __repr__(self):
        if Sleepy.armed:
            time.sleep(20)
        return "Sleepy()"

class Stopping:
    armed = False
    def __repr__(self):
        if Stopping.armed:
            os.kill(os.getpid(), signal.SIGINT)  # the user presses Stop while it runs
            time.sleep(20)
        return "Stopping()"

class Frame:
    """Looks like a DataFrame to --context, and breaks when shown."""
    shape = (2, 2)
    dtypes = {}
    def head(self, n):
        return self
    def to_string(self, **options):
        raise KeyError("to_string")

class Unprintable:
    def __str__(self):
        raise TypeError("no str")
'''


def numbered(nb, source: str) -> int:
    number = nb.shell.execution_count
    nb.shell.run_cell(source, store_history=True)
    return number


def sent(nb) -> str:
    content = nb.requests[-1]["body"]["messages"][-1]["content"]
    return content if isinstance(content, str) else "\n".join(block.get("text", "") for block in content)


@pytest.fixture
def values(nb, monkeypatch):
    monkeypatch.setattr(showing, "LIMIT", 1.0)
    numbered(nb, DEFINITIONS)
    return nb


def test_a_raising_repr_behind_out_and_cells_is_a_placeholder_and_the_rest_is_sent(values):
    number = numbered(values, "Moody()")
    numbered(values, "after = 1")
    result, captured = values.run(f"%%claude --cells 2\nWhat is {{Out[{number}]}}? Also {{after}}.")
    assert result.error_in_exec is None, error_text(captured)
    assert "Traceback" not in error_text(captured)
    prompt = sent(values)
    assert "What is <repr failed: ValueError>? Also 1." in prompt
    assert f"Out[{number}]:\n```\n<repr failed: ValueError>\n```" in prompt


def test_a_raising_str_and_a_breaking_context_value_are_placeholders(values):
    values.run("bad = Unprintable()\nframe = Frame()")
    result, captured = values.run("%%claude --context frame\nHere: {bad}.")
    assert result.error_in_exec is None, error_text(captured)
    prompt = sent(values)
    assert "Here: <str() failed: TypeError>." in prompt and "Variable `frame`: <repr failed: KeyError>" in prompt


def test_a_slow_repr_is_refused_in_one_line(values):
    number = numbered(values, "Sleepy()")
    values.run("Sleepy.armed = True")
    result, captured = values.run(f"%%claude\nWhat is {{Out[{number}]}}?")
    shown = error_text(captured).strip()
    assert shown.endswith(f"{{Out[{number}]}}: showing it as text took longer than 1 s (a slow __repr__ or __str__?), "
                          "so nothing was sent. Leave it out, or give it a quicker repr.")
    assert len(shown.splitlines()) == 1 and result.error_in_exec is not None and values.requests == []


def test_stop_during_a_slow_repr_is_one_line(values):
    values.run("waiting = Stopping()\nStopping.armed = True")
    result, captured = values.run("%%claude --context waiting\nWhat is it?")
    shown = error_text(captured).strip()
    assert shown == "KeyboardInterrupt: stopped while showing --context waiting as text; nothing was sent."
    assert isinstance(result.error_in_exec, KeyboardInterrupt) and values.requests == []
