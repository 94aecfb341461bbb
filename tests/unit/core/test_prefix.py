"""--unique-prefix: the nonce opens the prompt, per conversation instance."""

from __future__ import annotations

from loadprofile.core.prefix import prefix_nonce, with_unique_prefix


def test_nonce_is_stable_per_conversation_and_differs_between_them() -> None:
    assert prefix_nonce("u1-ab12-3") == prefix_nonce("u1-ab12-3")
    assert prefix_nonce("u1-ab12-3") != prefix_nonce("u1-ab12-4")
    assert prefix_nonce("x").startswith("[session ") and prefix_nonce("x").endswith("] ")


def test_nonce_goes_before_the_first_message_and_the_dataset_is_not_changed() -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    out = with_unique_prefix(messages, "[session 1] ")
    assert out[0] == {"role": "system", "content": "[session 1] Be brief."}
    assert out[1] is messages[1] and messages[0]["content"] == "Be brief."
    parts = [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
    assert with_unique_prefix(parts, "N ")[0]["content"][0] == {"type": "text", "text": "N "}
    assert with_unique_prefix([], "N ") == []
