"""Plumbing that knows no domain: optimistic locking of rows several people edit, and how a
person is named on pages and in records. It imports nothing of the project's apps."""
