"""A section's blocks read as text: the key titles are compared by, a table's columns and cells,
every piece of text a section holds, and the Markdown a block is kept as in the notes."""

from plans.markdown import reader
from plans.markdown.reader import CodeBlock, ListItem, Paragraph, Section, Table, plain


def title_key(title: str) -> str:
    return " ".join(plain(title).lower().replace("&", "and").split())


def column_of(header: list[str], *words: str) -> int | None:
    for index, cell in enumerate(header):
        if any(word in cell for word in words):
            return index
    return None


def cell_text(row: list[str], index: int | None) -> str:
    if index is None or index >= len(row):
        return ""
    return plain(row[index])


def cell_lines(cell: str) -> str:
    return "\n".join(line.strip() for line in reader.BREAK.split(cell) if line.strip())


def section_texts(section: Section):
    """(text, line) of every paragraph, list item and table cell of the section."""
    for block in section.blocks:
        if isinstance(block, Paragraph):
            yield block.text, block.line
        elif isinstance(block, Table):
            for row, line in zip(block.rows, block.row_lines, strict=False):
                for cell in row:
                    for piece in reader.BREAK.split(cell):
                        yield piece, line
        elif isinstance(block, list):
            yield from _item_texts(block)


def _item_texts(items: list[ListItem]):
    for item in items:
        yield item.text, item.line
        yield from _item_texts(item.children)


def block_text(block) -> str:
    if isinstance(block, Paragraph):
        return block.text
    if isinstance(block, Table):
        rows = [block.header, *block.rows]
        return "\n".join("| " + " | ".join(row) + " |" for row in rows)
    if isinstance(block, CodeBlock):
        return f"```{block.info}\n{block.text}```"
    if isinstance(block, list):
        return "\n".join(item_text(item, 0) for item in block)
    return ""


def item_text(item: ListItem, depth: int) -> str:
    box = "" if item.checked is None else ("[x] " if item.checked else "[ ] ")
    lines = ["  " * depth + "- " + box + item.text]
    lines += ["  " * (depth + 1) + paragraph for paragraph in item.paragraphs]
    lines += [item_text(child, depth + 1) for child in item.children]
    return "\n".join(lines)
