"""An offline stand-in for the Anthropic Messages API, served over real HTTP on 127.0.0.1.

The unmodified SDK talks to it like to the real API, which makes it the magic's offline backend, the test
server and the tutorials' fault injector: `Simulator().start().url` is a `base_url`.
"""

from .answers import MODELS, count_tokens
from .replies import Reply
from .server import Simulator

__all__ = ["MODELS", "Reply", "Simulator", "count_tokens"]
