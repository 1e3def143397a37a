"""python -m claude_magic.simulator --port 8765: serve the simulator in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import threading

from .server import Simulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m claude_magic.simulator",
        description="Serve an offline stand-in for the Anthropic Messages API on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: any free port)")
    parser.add_argument(
        "--pace", type=float, default=0.0, help="streamed tokens per second (default: 0, as fast as possible)"
    )
    for kind, flag in (("requests", "--rpm"), ("input_tokens", "--itpm"), ("output_tokens", "--otpm")):
        parser.add_argument(flag, type=float, dest=kind, metavar="N",
                            help=f"enforce a limit of N {kind.replace('_', ' ')} per minute (default: none)")
    args = parser.parse_args(argv)
    limits = {kind: getattr(args, kind) for kind in ("requests", "input_tokens", "output_tokens")
              if getattr(args, kind) is not None}
    try:
        simulator = Simulator(pace=args.pace, port=args.port, rate_limits=limits)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        simulator.start()
    except OSError as exc:
        parser.error(f"cannot listen on port {args.port}: {exc.strerror}")
    print(f"Claude API simulator at {simulator.url} (set ANTHROPIC_BASE_URL to it; Ctrl-C stops)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()


if __name__ == "__main__":
    main()
