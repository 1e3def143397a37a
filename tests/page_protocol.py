"""The page's half of the stream renderer's protocol (labextension/src/stream.ts), in Python, for tests:
the kernel's messages applied as the page applies them, on UTF-16 strings, counted as JavaScript counts."""

from __future__ import annotations


def _units(text: str) -> bytes:
    return text.encode("utf-16-le")  # two bytes per unit


def rebuilt(old: str, pieces: list) -> str:
    """What the page makes of an end's `pieces`: stretches of `old` ([start, length]) and texts."""
    page = _units(old)
    return b"".join(_units(piece) if isinstance(piece, str) else page[2 * piece[0] : 2 * sum(piece)]
                    for piece in pieces).decode("utf-16-le")


def applied(stream: dict, data: dict) -> None:
    """One stream message applied to `stream` ({"segments": [], "tail": b""}); at the end, its "final"."""
    for op in data.get("ops", ()):
        if op[0] == "t":
            stream["tail"] = stream["tail"][: 2 * op[1]] + _units(op[2])
        elif op[0] == "z":
            stream["segments"].append(stream["tail"])
            stream["tail"] = b""
        elif op[0] == "r" and op[1] < len(stream["segments"]):
            stream["tail"] = stream["segments"][op[1]]
            del stream["segments"][op[1]:]
    if "end" in data:
        whole = b"\n\x00\n\x00".join(part for part in (*stream["segments"], stream["tail"]) if part)
        markdown = rebuilt(whole.decode("utf-16-le"), data["end"]["markdown"])
        plain_keep, plain_text = data["end"]["plain"]
        stream["final"] = {"text/markdown": markdown,
                           "text/plain": (_units(markdown)[: 2 * plain_keep] + _units(plain_text)).decode("utf-16-le")}
