"""Test helpers for pages: Debian's headless Chromium (`chromium`), and `PageMarkup`, which lists what
markup a page holds, so that a test can tell data shown as text from data that became markup."""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

PWNED = "PWNED"
"""What a payload that ran would set the page's title to."""


def chromium(tmp_path, *arguments) -> subprocess.CompletedProcess:
    """Debian's headless Chromium with the flags this closed network needs; .ci/run installs it, so in
    CI its absence is a failure, elsewhere a skip."""
    binary = shutil.which("chromium")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run should have installed Debian's chromium package")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'chromium-profile'}", *arguments],
        capture_output=True, text=True, timeout=120, check=True)


class PageMarkup(HTMLParser):
    """Feed a page: ``tags`` (name -> count), ``attributes`` (every attribute name), ``hrefs``,
    ``title`` and ``text`` (all text outside scripts and styles)."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.tags: dict[str, int] = {}
        self.attributes: set[str] = set()
        self.hrefs: list[str] = []
        self.title = ""
        self.text = ""
        self._in: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        self.attributes |= {name for name, _ in attrs}
        self.hrefs += [value or "" for name, value in attrs if name in ("href", "src", "action", "formaction")]
        self._in.append(tag)

    def handle_endtag(self, tag):
        if tag in self._in:
            while self._in and self._in.pop() != tag:
                pass

    def handle_data(self, data):
        inside = self._in[-1] if self._in else ""
        if inside == "title" and "head" in self._in:  # the document's title, not an SVG tooltip
            self.title += data
        if inside not in ("script", "style"):
            self.text += data

    def handlers(self) -> set[str]:
        """Event-handler attributes (``onerror``, ``onload``, ...): none belongs in a report."""
        return {a for a in self.attributes if a.startswith("on")}


SAFE_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "div", "b", "ul", "li",
             "table", "thead", "tbody", "tr", "th", "td", "span", "a", "form", "label", "input", "select",
             "option", "code", "pre", "svg", "rect", "polyline", "line", "text", "script"}


def assert_inert(page: str, *, scripts: int) -> PageMarkup:
    """No markup came from data: only the report's own tags, its own scripts, no event handlers, and
    links only to fragments, queries or relative files."""
    markup = PageMarkup(page)
    assert set(markup.tags) <= SAFE_TAGS, set(markup.tags) - SAFE_TAGS
    assert markup.tags.get("script", 0) == scripts
    assert not markup.handlers(), markup.handlers()
    for href in markup.hrefs:
        assert href.startswith(("#", "?")) or ("://" not in href and ":" not in href.split("/")[0]
                                               and ".." not in href.split("/")), href
    assert PWNED not in markup.title
    return markup


def assert_inert_in_chromium(tmp_path, page_path) -> None:
    dom = chromium(tmp_path, "--dump-dom", page_path.as_uri()).stdout
    markup = PageMarkup(dom)
    assert PWNED not in markup.title and "img" not in markup.tags and not markup.handlers()
