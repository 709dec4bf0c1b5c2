"""Text folding: the one matching normalisation of the taggers, the demo generator and the
benchmarks.

`fold` is the project's matching normalisation (docs/demo-data.md, invariant 3): Unicode NFC,
then full case folding (ß -> ss, final ς -> σ); accents are kept. Case folding can change the
length of a string, so `FoldedText` keeps, for every character of the folded text, the index of
the original character it came from: matches found in the folded text map back to the original
for keyword-in-context windows and capitalisation checks.
"""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def strip_accents(text: str) -> str:
    """Without combining marks, NFC ("Zürich" -> "Zurich"): for accent-insensitive aliases."""
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


class FoldedText:
    __slots__ = ("_origin", "folded", "original")

    def __init__(self, text: str) -> None:
        self.original = unicodedata.normalize("NFC", text)
        parts: list[str] = []
        origin: list[int] = []
        for i, ch in enumerate(self.original):
            f = ch.casefold()
            parts.append(f)
            origin.extend([i] * len(f))
        self.folded = "".join(parts)
        self._origin = origin

    def start_of(self, folded_index: int) -> int:
        """Index in `original` of the character at `folded_index` of `folded`."""
        if folded_index >= len(self._origin):
            return len(self.original)
        return self._origin[folded_index]

    def end_of(self, folded_end: int) -> int:
        """Original end index (exclusive) for a folded end index (exclusive)."""
        if folded_end <= 0:
            return 0
        return self._origin[min(folded_end, len(self._origin)) - 1] + 1
