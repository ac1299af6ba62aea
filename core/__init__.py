"""Plumbing that knows no domain: API conventions, htmx helpers, the outbox, chart conventions,
request and log context, the database-unavailable answer, display names.

It imports none of the project's apps; every app may import it.
"""
