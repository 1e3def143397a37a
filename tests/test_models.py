from claude_magic.magic import ClaudeMagics
from claude_magic.models import rules_for


def test_the_default_model_is_in_the_table_and_priced():
    rules = rules_for(ClaudeMagics.model.default_value)
    assert rules is not None and rules.price is not None


def test_a_dated_snapshot_takes_its_familys_row_and_unknown_models_have_none():
    assert rules_for("claude-haiku-4-5-20251001") == rules_for("claude-haiku-4-5")
    assert rules_for("claude-sonnet-4-5-20250929").max_output == 64_000
    assert rules_for("my-local-model") is None


def test_every_simulated_model_has_rules_and_a_price():
    from claude_magic.simulator import MODELS as SIMULATED

    assert all(rules_for(model) is not None and rules_for(model).price is not None for model in SIMULATED)


def test_the_5_5_generation_is_adaptive_only_without_forced_tool_use():
    for model in ("claude-sonnet-5-5", "claude-opus-5-5"):
        rules = rules_for(model)
        assert (rules.thinking, rules.forced_tool_choice, rules.max_output) == ("adaptive", False, 128_000)
        assert rules.between_tools_in_thinking and rules.thinking_tied_to_model
    assert rules_for("claude-sonnet-4-5").adaptive is False
