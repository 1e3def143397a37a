"""Running code Claude wrote as a cell of this kernel, and what it did as the blocks Claude reads.

As `%%capture` does, the code goes through `shell.run_cell` inside `capture_output()`: the shell's own
machinery (magics, display hooks, the inline backend's figures), the notebook's namespace, the kernel's
main thread. A nested cell would send three things straight to the page that belong to Claude instead,
so they are caught while it runs: the last expression's value (the display hook would show it as the
cell's `Out`), the traceback (a kernel publishes it itself, past any capture) and the matplotlib figures
left open (saved as PNG and closed, so they do not reappear under the cell).
"""

from __future__ import annotations

import base64
import io
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from IPython.utils.capture import capture_output

from .cells import _ANSI, cut, error_text
from .view.throttle import Throttle

IMAGE_TYPES = ("image/png", "image/jpeg")
# More pictures than this from one run are left out (and Claude is told): each costs input tokens.
MAX_IMAGES = 8
# Seconds between two live views of what running code prints (each one re-sends the status).
PROGRESS_INTERVAL = 0.5


@dataclass
class Outcome:
    """What one run did: its text as Claude reads it, its pictures, and how it ended."""

    text: str
    images: list[tuple[str, str]] = field(default_factory=list)  # (media type, base64 data)
    error: bool = False
    interrupted: bool = False


def run(shell: Any, code: str, progress: Callable[[str], None] | None = None, *,
        interval: float = PROGRESS_INTERVAL, clock: Callable[[], float] = time.monotonic) -> Outcome:
    """Run `code` as a cell (unnumbered, not in `In`), and return what it printed, showed and raised.

    While it runs, `progress` gets what it has printed so far, at most every `interval` seconds, with the
    capture lifted: it may draw on the page (the answer's status) without that reaching Claude.
    """
    seen: list[Any] = []
    before = _open_figures()
    page = shell.display_pub, sys.stdout, sys.stderr
    with _quiet_tracebacks(shell), capture_output() as captured, _value_hook(shell, seen):
        if progress is not None:
            _watch(shell, page, progress, Throttle(interval, clock))
        result = shell.run_cell(code, store_history=False)
    images: list[tuple[str, str]] = []
    parts = [_ANSI.sub("", captured.stdout)] if captured.stdout else []
    if captured.stderr:
        parts.append("[stderr]\n" + _ANSI.sub("", captured.stderr))
    for output in captured.outputs:
        _shown(output.data, parts, images)
    for value in seen:
        data, _ = shell.display_formatter.format(value)
        _shown(data, parts, images, prefix="Out: ")
    images += _figures(before)
    error = result.error_before_exec or result.error_in_exec
    interrupted = isinstance(error, KeyboardInterrupt)
    if error is not None and not interrupted:
        parts.append(error_text(error, shell, result.error_before_exec))
    return Outcome("\n".join(part.rstrip("\n") for part in parts), images, error is not None, interrupted)


def tool_content(outcome: Outcome, chars: int) -> list[dict[str, Any]]:
    """The tool_result content for a run: its text (its start and end past `chars`), then its images."""
    text = outcome.text if outcome.text.strip() else "(the code ran and printed nothing)"
    images = outcome.images[:MAX_IMAGES]
    if len(outcome.images) > len(images):
        text += f"\n({len(outcome.images) - len(images)} more images left out)"
    content: list[dict[str, Any]] = [{"type": "text", "text": cut(text, chars, keep_end=True)}]
    content += [{"type": "image", "source": {"type": "base64", "media_type": kind, "data": data}}
                for kind, data in images]
    return content


def _watch(shell: Any, page: tuple[Any, Any, Any], progress: Callable[[str], None], throttle: Throttle) -> None:
    """Tee the captured stdout and stderr: every write is kept, and shown now and then through `progress`,
    with the page's display publisher and streams (`page`) back for the time it draws."""
    printed: list[str] = []

    def wrote(text: str) -> None:
        printed.append(text)
        if throttle.ready():
            capturing = shell.display_pub, sys.stdout, sys.stderr
            shell.display_pub, sys.stdout, sys.stderr = page
            try:
                progress(_ANSI.sub("", "".join(printed)))
            except Exception:  # noqa: BLE001, S110 - progress is a courtesy: it must not break the run
                pass
            finally:
                shell.display_pub, sys.stdout, sys.stderr = capturing

    sys.stdout, sys.stderr = _Tee(sys.stdout, wrote), _Tee(sys.stderr, wrote)


class _Tee(io.TextIOBase):
    """A captured stream that also tells `wrote` what is written to it."""

    def __init__(self, target: Any, wrote: Callable[[str], None]):
        self.target = target
        self.wrote = wrote

    def write(self, text: str) -> int:
        count = self.target.write(text)
        self.wrote(text)
        return count

    def flush(self) -> None:
        self.target.flush()

    def getvalue(self) -> str:
        return self.target.getvalue()


def _shown(data: dict[str, Any], parts: list[str], images: list[tuple[str, str]], prefix: str = "") -> None:
    """A display's bundle: its picture if it has one, else its plain text."""
    for kind in IMAGE_TYPES:
        if data.get(kind):
            images.append((kind, _base64(data[kind])))
            return
    if data.get("text/plain"):
        parts.append(prefix + _ANSI.sub("", str(data["text/plain"])))


def _base64(data: bytes | str) -> str:
    """Display data's image as base64: the formatters give bytes, a kernel's JSON gives base64 text."""
    return base64.b64encode(data).decode() if isinstance(data, bytes) else data.strip()


@contextmanager
def _value_hook(shell: Any, seen: list[Any]) -> Iterator[None]:
    """Keep the last expression's value instead of displaying it (a nested cell's trap is already set)."""
    def hook(value: Any) -> None:
        if value is not None:
            seen.append(value)

    trap = shell.display_trap
    saved = sys.displayhook, trap.hook
    sys.displayhook = trap.hook = hook
    try:
        yield
    finally:
        sys.displayhook, trap.hook = saved


@contextmanager
def _quiet_tracebacks(shell: Any) -> Iterator[None]:
    """The shell shows no traceback while the code runs: it is read from the result instead.

    `_showtraceback` is where both IPython and ipykernel draw one (the kernel publishes it on iopub,
    which no capture sees); replaced on the instance for the run, and put back.
    """
    own = shell.__dict__.get("_showtraceback")
    shell._showtraceback = lambda *args, **kwargs: None
    try:
        yield
    finally:
        if own is None:
            del shell._showtraceback
        else:
            shell._showtraceback = own


def _open_figures() -> set[int]:
    pyplot = sys.modules.get("matplotlib.pyplot")
    return set(pyplot.get_fignums()) if pyplot is not None else set()


def _figures(before: set[int]) -> list[tuple[str, str]]:
    """The figures the code opened and left open, as PNG; closed once captured."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return []
    import io

    images = []
    for number in pyplot.get_fignums():
        if number in before:
            continue
        figure = pyplot.figure(number)
        buffer = io.BytesIO()
        try:
            figure.savefig(buffer, format="png", bbox_inches="tight")
        except Exception:  # noqa: BLE001, S112 - a figure that cannot draw itself is left out, not the run
            continue
        finally:
            pyplot.close(figure)
        images.append(("image/png", base64.b64encode(buffer.getvalue()).decode()))
    return images
