"""Test helper: the text of every cell of every table in an HTML page, and its links."""

from html.parser import HTMLParser


class HTMLTables(HTMLParser):
    """Feed a page; ``tables`` holds one list of cell texts per table, ``links`` every href."""

    def __init__(self, page: str = ""):
        super().__init__()
        self.tables, self.links, self._cell = [], [], None
        if page:
            self.feed(page)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag == "a":
            self.links.append(dict(attrs).get("href", ""))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1].append(self._cell.strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
