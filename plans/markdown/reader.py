"""A Markdown plan read into sections: headings with the paragraphs, lists, tables and code
blocks under them, each with the line it starts on. markdown-it-py does the parsing; nothing
here scans raw lines, except the lines inside a code block (which Markdown leaves as text).
"""

import re
import textwrap
from dataclasses import dataclass, field
from functools import lru_cache

import ftfy
from markdown_it import MarkdownIt
from markdown_it.token import Token

MAX_BYTES = 2_000_000


class NotAPlan(ValueError):
    """The input cannot be read as a Markdown plan (binary, too large, empty)."""


@dataclass
class Paragraph:
    line: int
    text: str  # inline Markdown as written, e.g. "**Owner:** Backend Lead"


@dataclass
class ListItem:
    line: int
    text: str  # the item's first paragraph, checkbox marker removed
    checked: bool | None = None  # None: not a checklist item
    ordered: bool = False
    children: list["ListItem"] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)  # further paragraphs of the item
    detail: str = ""  # the source below the item's first paragraph, dedented: sub-items, code
    rest: tuple[int, int] = (0, 0)  # the source lines (0-based, end excluded) of `detail`


@dataclass
class Table:
    line: int
    header: list[str]
    rows: list[list[str]]
    row_lines: list[int]


@dataclass
class CodeBlock:
    line: int
    info: str
    text: str


Block = Paragraph | list | Table | CodeBlock  # a list block is a list[ListItem]


@dataclass
class Section:
    level: int  # 0 for the text before the first heading
    title: str
    line: int
    blocks: list = field(default_factory=list)
    children: list["Section"] = field(default_factory=list)
    body: str = ""  # the Markdown below the heading, sub-sections included, as written

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


def decode(data: bytes | str) -> str:
    """Text from an upload: UTF-8 (or cp1252 as a fallback), mis-decodings repaired (ftfy),
    line endings and tabs normalised. NotAPlan for binary, oversized or empty input."""
    if isinstance(data, str):
        text = data
    else:
        if len(data) > MAX_BYTES:
            raise NotAPlan(f"The file is {len(data):,} bytes; plans up to {MAX_BYTES:,} are read.")
        if b"\x00" in data[:8192]:
            raise NotAPlan("This is a binary file, not a Markdown plan.")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
    if len(text) > MAX_BYTES:
        raise NotAPlan(f"The text is {len(text):,} characters; plans up to {MAX_BYTES:,} are read.")
    controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\r\n\t\f")
    if controls > 8:
        raise NotAPlan("This does not look like text: it is full of control characters.")
    text = ftfy.fix_text(text, normalization="NFC").replace("\r\n", "\n").replace("\r", "\n")
    text = text.expandtabs(4)
    if not text.strip():
        raise NotAPlan("The plan is empty.")
    return text


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


CHECKBOX = re.compile(r"^(?:\[( |x|X)\]|(✅|✓|✔|☑|☐))\s+")
DONE_MARKS = ("✅", "✓", "✔", "☑")


def read(text: str) -> Section:
    """The document as a tree of sections (the root has level 0)."""
    tokens = _parser().parse(text)
    root = Section(level=0, title="", line=1)
    stack = [root]
    ordered: list[Section] = [root]
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type == "heading_open":
            level = int(token.tag[1])
            title = tokens[index + 1].content.strip()
            section = Section(level=level, title=title, line=_line(token))
            while stack[-1].level >= level:
                stack.pop()
            stack[-1].children.append(section)
            stack.append(section)
            ordered.append(section)
            index += 3
            continue
        block, index = _block(tokens, index)
        if block is not None:
            stack[-1].blocks.append(block)
    lines = text.split("\n")
    _bodies(ordered, lines)
    _details(ordered, lines)
    return root


def _details(sections: list[Section], lines: list[str]) -> None:
    """Give each list item the source below its first paragraph (sub-items, code, further
    paragraphs), as written."""

    def walk(items: list[ListItem]) -> None:
        for item in items:
            start, end = item.rest
            if end > start:
                item.detail = textwrap.dedent("\n".join(lines[start:end])).strip()
            walk(item.children)

    for section in sections:
        for block in section.blocks:
            if isinstance(block, list):
                walk(block)


def _bodies(sections: list[Section], lines: list[str]) -> None:
    """Give each section the source lines below its heading, up to the next heading of the same
    or a higher level."""
    for position, section in enumerate(sections):
        if section.level == 0:
            continue
        end = len(lines)
        for later in sections[position + 1 :]:
            if later.level <= section.level:
                end = later.line - 1
                break
        section.body = "\n".join(lines[section.line : end]).strip()


def _line(token: Token) -> int:
    return token.map[0] + 1 if token.map else 0


def _block(tokens: list[Token], index: int):
    """The block starting at `index` and the index after it."""
    token = tokens[index]
    if token.type == "paragraph_open":
        return Paragraph(_line(token), tokens[index + 1].content), index + 3
    if token.type in ("bullet_list_open", "ordered_list_open"):
        return _list(tokens, index)
    if token.type == "table_open":
        return _table(tokens, index)
    if token.type in ("fence", "code_block"):
        return CodeBlock(_line(token), token.info.strip(), token.content), index + 1
    return None, index + 1


def _list(tokens: list[Token], index: int) -> tuple[list[ListItem], int]:
    ordered = tokens[index].type == "ordered_list_open"
    closing = "ordered_list_close" if ordered else "bullet_list_close"
    items: list[ListItem] = []
    index += 1
    depth_open = tokens[index - 1].level
    while index < len(tokens):
        token = tokens[index]
        if token.type == closing and token.level == depth_open:
            return items, index + 1
        if token.type == "list_item_open":
            item, index = _list_item(tokens, index, ordered)
            items.append(item)
            continue
        index += 1
    return items, index


def _list_item(tokens: list[Token], index: int, ordered: bool) -> tuple[ListItem, int]:
    opening = tokens[index]
    item = ListItem(line=_line(opening), text="", ordered=ordered)
    if opening.map:
        item.rest = (opening.map[0] + 1, opening.map[1])
    index += 1
    first = True
    while index < len(tokens):
        token = tokens[index]
        if token.type == "list_item_close" and token.level == opening.level:
            return item, index + 1
        if token.type == "paragraph_open":
            content = tokens[index + 1].content
            if first:
                marker = CHECKBOX.match(content)
                if marker:
                    box, mark = marker.groups()
                    item.checked = (box is not None and box != " ") or mark in DONE_MARKS
                    content = content[marker.end() :]
                item.text = content
                if token.map and opening.map:
                    item.rest = (token.map[1], opening.map[1])
                first = False
            else:
                item.paragraphs.append(content)
            index += 3
            continue
        if token.type in ("bullet_list_open", "ordered_list_open"):
            children, index = _list(tokens, index)
            item.children.extend(children)
            continue
        if token.type in ("fence", "code_block"):
            item.paragraphs.append(token.content)
        index += 1
    return item, index


def _table(tokens: list[Token], index: int) -> tuple[Table, int]:
    table = Table(line=_line(tokens[index]), header=[], rows=[], row_lines=[])
    row: list[str] | None = None
    in_head = False
    index += 1
    while index < len(tokens):
        token = tokens[index]
        if token.type == "table_close":
            return table, index + 1
        if token.type == "thead_open":
            in_head = True
        elif token.type == "thead_close":
            in_head = False
        elif token.type == "tr_open":
            row = []
            if not in_head:
                table.row_lines.append(_line(token))
        elif token.type == "tr_close" and row is not None:
            if in_head:
                table.header = row
            else:
                table.rows.append(row)
        elif token.type == "inline" and row is not None:
            row.append(token.content.strip())
        index += 1
    return table, index


BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


@lru_cache(maxsize=4096)
def plain(text: str) -> str:
    """Inline Markdown as plain text, as markdown-it reads it: emphasis and code marks and link
    targets gone, `pg_stat_statements` and escaped characters kept; <br> is a line break."""
    lines = []
    for piece in BREAK.split(text):
        words = []
        for token in _parser().parseInline(piece):
            for child in token.children or []:
                if child.type in ("text", "code_inline"):
                    words.append(child.content)
                elif child.type in ("softbreak", "hardbreak"):
                    words.append(" ")
        lines.append(" ".join("".join(words).split()))
    return "\n".join(line for line in lines if line)


LABEL = re.compile(r"^\s*(?:\*\*|__)([^*_]{1,80}?)(?::\s*)?(?:\*\*|__)\s*:?\s*(.*)$", re.DOTALL)


def labelled(text: str) -> tuple[str, str] | None:
    """('Owner', 'Backend Lead') from '**Owner:** Backend Lead' or '**Owner**: Backend Lead'."""
    match = LABEL.match(text)
    if not match:
        return None
    return plain(match.group(1)).strip().rstrip(":"), match.group(2).strip()


CODE_CHECK = re.compile(r"^\s*(?:[-*+]\s*)?(?:\[( |x|X)\]|(✓|✅|✔|☑|☐))\s+(.+)$")


def code_checklist(block: CodeBlock) -> list[ListItem]:
    """Checklist lines written inside a code block ('- [ ] …', '✅ …'), as list items."""
    items = []
    for offset, line in enumerate(block.text.splitlines()):
        match = CODE_CHECK.match(line)
        if match:
            box, mark, text = match.groups()
            checked = (box is not None and box != " ") or mark in ("✓", "✅", "✔", "☑")
            items.append(ListItem(line=block.line + 1 + offset, text=text.strip(), checked=checked))
    return items
