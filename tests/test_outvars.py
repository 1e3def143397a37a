"""`--out VAR` refuses the names the shell lives by, in one line, and every later cell still works."""

from __future__ import annotations

import pytest
from conftest import error_text

from claude_magic.simulator import Reply

SHELL_NAMES = ["get_ipython", "In", "Out", "exit", "quit", "_", "__", "___", "_ih", "_oh", "_dh", "_i", "_ii",
               "_iii", "_i3", "_7", "print", "len", "display", "str"]


@pytest.mark.parametrize("name", SHELL_NAMES)
def test_out_refuses_a_name_the_shell_needs_and_later_magics_still_work(nb, name):
    before = nb.ns.get(name, "absent")
    try:
        result, captured = nb.run(f"%%claude --out {name}\nhi")
        shown = error_text(captured).strip()
        assert shown.startswith(f"--out {name}: that name is ") and "Pick another" in shown
        assert len(shown.splitlines()) == 1 and "Traceback" not in shown
        assert type(result.error_in_exec).__name__ == "BadInput" and nb.requests == []
        assert nb.ns.get(name, "absent") is before
        with pytest.raises(Exception, match=f"--out {name}: that name is"):  # ask() says the same
            nb.run(f"import claude_magic; claude_magic.ask('hi', out={name!r})")[0].raise_error()
        # Every later magic, and the shell's own names, still work.
        nb.sim.queue(Reply.text("fine"))
        for cell in ("%%claude\nstill there?", "%claude history", "%claude usage", "x = get_ipython(); print(len(In))"):
            result, captured = nb.run(cell)
            assert result.error_in_exec is None, (cell, error_text(captured))
    finally:  # on a build that accepted the name, put the shell back for the tests after this one
        if before == "absent":
            nb.ns.pop(name, None)
        else:
            nb.ns[name] = before


def test_out_still_takes_ordinary_names(nb):
    for name in ("answer", "_private", "item_1", "output"):
        result, captured = nb.run(f"%%claude --out {name}\nhi")
        assert result.error_in_exec is None, error_text(captured)
        assert nb.ns[name] is nb.ns["last_message"]
