from claude_magic.magic import ClaudeMagics
from claude_magic.models import rules_for


def test_the_default_model_is_in_the_table_and_priced():
    rules = rules_for(ClaudeMagics.model.default_value)
    assert rules is not None and rules.price is not None


def test_a_dated_snapshot_takes_its_familys_row_and_unknown_models_have_none():
    assert rules_for("claude-haiku-4-5-20251001") == rules_for("claude-haiku-4-5")
    assert rules_for("claude-sonnet-4-5-20250929").max_output == 64_000
    assert rules_for("my-local-model") is None
