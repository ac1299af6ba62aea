"""Contracts of the code's shape that import-linter checks (`make lint`, `.ci/run`), beyond the
ones it ships."""
