"""`vault.masking`: exact values replaced wherever they occur in text and in JSON."""

import itertools

from vault.masking import mask, mask_json

VALUES = {"CRM_TOKEN": "abc123", "LONG_TOKEN": "abc123-and-more"}


def test_every_occurrence_is_replaced_by_the_secret_name():
    assert mask("abc123 and abc123abc123", {"CRM_TOKEN": "abc123"}) == (
        "[secret CRM_TOKEN] and [secret CRM_TOKEN][secret CRM_TOKEN]"
    )


def test_a_value_holding_another_is_masked_whole():
    assert mask("x abc123-and-more y abc123", VALUES) == (
        "x [secret LONG_TOKEN] y [secret CRM_TOKEN]"
    )


def test_nothing_to_mask_leaves_the_text_alone():
    assert mask("hello", VALUES) == "hello"
    assert mask("", VALUES) == ""
    assert mask("abc123", {}) == "abc123"
    assert mask("abc", {"EMPTY": ""}) == "abc"


def test_json_strings_keys_and_nesting_are_masked_and_other_values_kept():
    data = {"abc123": ["abc123", {"k": "pre-abc123"}], "n": 1, "b": True, "z": None, "f": 1.5}
    assert mask_json(data, VALUES) == {
        "[secret CRM_TOKEN]": ["[secret CRM_TOKEN]", {"k": "pre-[secret CRM_TOKEN]"}],
        "n": 1,
        "b": True,
        "z": None,
        "f": 1.5,
    }
    assert mask_json("abc123", VALUES) == "[secret CRM_TOKEN]"
    assert mask_json(None, VALUES) is None


def test_multi_line_values_are_masked_whole():
    key = "-----BEGIN KEY-----\nMIIB\n-----END KEY-----"
    assert mask(f"key:\n{key}\n", {"PEM": key}) == "key:\n[secret PEM]\n"


def test_growing_output_holds_back_a_possible_start_of_a_secret_and_only_grows():
    from vault.masking import mask_growing

    values = {"TOKEN": "abcdef", "PIN": "abz"}
    printed = "x abcdef y abcdXYZ ab"
    shown = [mask_growing(printed[:end], values) for end in range(len(printed) + 1)]
    assert shown[-1] == "x [secret TOKEN] y abcdXYZ "  # "ab" may be the start of either
    assert mask_growing("x abcde", values) == "x "
    assert mask_growing("x abcdef", values) == "x [secret TOKEN]"
    for before, after in itertools.pairwise(shown):
        assert after.startswith(before)  # readers following by offset never see it change
    assert all("abcde" not in text for text in shown)
