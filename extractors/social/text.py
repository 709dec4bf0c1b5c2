"""Small text helpers shared by connectors: HTML to plain text, language tags, timestamps."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser

# Elements whose end (or, for <br>, presence) separates lines of text.
_BLOCK = frozenset(
    {"p", "div", "li", "ul", "ol", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "pre"}
)
_SKIP = frozenset({"script", "style", "template", "noscript"})
# Language tags that say "no language": not a language hint.
_NO_LANGUAGE = frozenset({"und", "zxx", "mul", "mis", "qme", "qht", "qam", "qct", "qst"})


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)  # entities (&amp;, &#x1F600;) become characters
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _SKIP:
            self._skipping += 1
        elif tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML fragment: tags dropped, entities decoded, paragraphs kept as blank
    lines. Mastodon's hidden link parts (`<span class="invisible">`) are kept, so links come out
    whole rather than truncated."""
    if "<" not in html and "&" not in html:
        return html.strip()
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    lines = "".join(parser.parts).split("\n")
    text = "\n".join(line.strip() for line in lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()


def primary_language(tag: object) -> str | None:
    """'en-GB' -> 'en'; None for missing, non-string or 'no language' tags."""
    if not isinstance(tag, str) or not tag.strip():
        return None
    primary = tag.strip().replace("_", "-").split("-")[0].lower()
    return None if primary in _NO_LANGUAGE else primary


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def from_epoch(value: object) -> str | None:
    """An epoch-seconds number (int, float or numeric string) as an ISO timestamp, else None."""
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return None
