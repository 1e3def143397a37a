"""Fit a cell's options to what its model accepts (models.py), before anything is sent.

What the API would refuse with a 400 is either adjusted, with a note in the footer, or refused here in
one line. A model missing from the table is left to the API.
"""

from __future__ import annotations

from typing import Any

from .errors import BadInput
from .models import rules_for

# The smallest thinking budget the API takes.
MIN_BUDGET = 1024


def fit(options: Any, budget: int | None) -> None:
    """Set `options.thinking` for `options.model` from `--thinking` (None: not given, 0: bare, N: a budget).

    Adds to `options.notes` what the footer should say about a change; raises BadInput for what cannot work.
    """
    model, max_tokens = options.model, options.max_tokens
    rules = rules_for(model)
    if rules is not None and max_tokens > rules.max_output:
        raise BadInput(f"--max-tokens {max_tokens:,}: {model} writes at most {rules.max_output:,} tokens; "
                       f"ask for {rules.max_output} or fewer.")
    if budget:
        if not MIN_BUDGET <= budget < max_tokens:
            raise BadInput(f"--thinking {budget}: the budget must be at least {MIN_BUDGET} tokens and below "
                           f"--max-tokens ({max_tokens}).")
        if rules is None or rules.thinking == "budget":
            options.thinking = {"type": "enabled", "budget_tokens": budget}
        else:
            options.thinking = {"type": "adaptive"}
            options.notes.append(f"--thinking {budget}: {model} decides how much to think (adaptive); "
                                 "steer it with --effort")
    elif budget == 0:
        if rules is not None and not rules.adaptive:
            raise BadInput(f"--thinking: {model} has no adaptive thinking; give it a budget, "
                           "e.g. `--thinking 4000`.")
        options.thinking = {"type": "adaptive"}
    elif options.tools and rules is not None and rules.between_tools_in_thinking:
        # This generation writes what it says between tool calls into thinking blocks: ask for their text.
        options.thinking = {"type": "adaptive"}
    if options.thinking and rules is not None and rules.display == "omitted":
        options.thinking["display"] = "summarized"  # else the thinking asked for arrives empty
