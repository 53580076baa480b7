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


class ShownRows(HTMLParser):
    """Feed a page as a browser left it; ``rows[table_class]`` holds, for each body row of the tables of
    that class not marked ``hidden``, the texts of its cells not marked ``hidden``."""

    def __init__(self, page: str):
        super().__init__()
        self.rows: dict[str, list[list[str]]] = {}
        self._table, self._in_body, self._row, self._cell = None, False, None, None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = attrs.get("class", "")
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self._row = None if "hidden" in attrs else []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = None if "hidden" in attrs else ""

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_body = False
        elif tag in ("td", "th") and self._row is not None:
            if self._cell is not None:
                self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            for name in self._table.split():
                self.rows.setdefault(name, []).append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
