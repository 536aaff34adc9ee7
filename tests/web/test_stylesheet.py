"""The stylesheet's colours keep text readable (WCAG AA: 4.5:1) and focus visible."""

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parents[2] / "web" / "static" / "web" / "app.css").read_text()
COLOURS = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", CSS))


def luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize(
    ("text", "background"),
    [
        ("ink", "paper"),
        ("muted", "paper"),
        ("accent", "paper"),
        ("danger", "paper"),
        ("ok", "paper"),
        ("accent-ink", "accent"),
        ("ink", "soft"),
        ("muted", "soft"),
        ("accent", "soft"),
    ],
)
def test_text_colours_have_enough_contrast(text, background):
    assert contrast(COLOURS[text], COLOURS[background]) >= 4.5


def test_the_danger_notice_is_readable():
    assert contrast(COLOURS["danger"], "#fdf0f0") >= 4.5


def test_keyboard_focus_is_always_outlined():
    assert re.search(r":focus-visible\s*\{\s*outline:\s*3px solid", CSS)
