"""Logging in: sessions and their lifetime, the login lockout, personal API tokens.

It may import core only.
"""
