"""Plumbing that knows no domain: API conventions, htmx answers, optimistic locking, the outbox,
chart conventions, request and log context, the database-unavailable answer, display names and
the exchange document's field kinds.

It imports none of the project's apps; every app may import it.
"""
