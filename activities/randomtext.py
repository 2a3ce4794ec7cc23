"""``generate_random_text``: passwords, tokens and unique names from the ``secrets`` module."""

from __future__ import annotations

import secrets
import string

from orch.sdk import ActivityError, Context, Inputs, Published, activity

MAX_LENGTH = 4096
DEFAULT_SYMBOLS = "!#$%&()*+,-./:;<=>?@[]^_{|}~"


class GenerateRandomTextInputs(Inputs):
    length: int = 16
    """Number of characters (1 to 4096)."""
    lowercase: bool = True
    """Use lower-case letters a–z."""
    uppercase: bool = True
    """Use upper-case letters A–Z."""
    digits: bool = True
    """Use digits 0–9."""
    symbols: bool = False
    """Use the characters in ``symbol_set``."""
    symbol_set: str = DEFAULT_SYMBOLS
    """The symbols used when ``symbols`` is on."""
    characters: str = ""
    """Use exactly these characters instead of the classes above."""
    require_each: bool = True
    """Include at least one character of every class in use (password rules)."""


class RandomText(Published):
    Value: str
    """The generated text."""


@activity(
    "generate_random_text",
    display_name="Generate Random Text",
    category="Utilities",
    rerunnable=True,
)
async def generate_random_text(ctx: Context, inputs: GenerateRandomTextInputs) -> RandomText:
    """Publish ``length`` characters drawn uniformly with a cryptographic generator."""
    if not 1 <= inputs.length <= MAX_LENGTH:
        raise ActivityError(f"property length: must be between 1 and {MAX_LENGTH}")
    classes = _classes(inputs)
    alphabet = "".join(dict.fromkeys("".join(classes)))
    if inputs.require_each and len(classes) > inputs.length:
        raise ActivityError(
            f"property length: {inputs.length} is too short for one character of each of "
            f"{len(classes)} classes (or set require_each to false)"
        )
    while True:
        value = "".join(secrets.choice(alphabet) for _ in range(inputs.length))
        if not inputs.require_each or all(any(c in cls for c in value) for cls in classes):
            return RandomText(Value=value)


def _classes(inputs: GenerateRandomTextInputs) -> list[str]:
    if inputs.characters:
        return [inputs.characters]
    classes = [
        chars
        for on, chars in (
            (inputs.lowercase, string.ascii_lowercase),
            (inputs.uppercase, string.ascii_uppercase),
            (inputs.digits, string.digits),
            (inputs.symbols, inputs.symbol_set),
        )
        if on and chars
    ]
    if not classes:
        raise ActivityError(
            "property characters: no characters to choose from "
            "(turn on lowercase, uppercase, digits or symbols, or give characters)"
        )
    return classes
