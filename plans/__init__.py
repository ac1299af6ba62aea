"""Plans in Markdown: the recogniser that reads a team's plan, the import with its preview, the
export, their pages, API and command.

It may import every domain app and what they import; none imports it.
"""
