"""The JSON exchange document of one project: the envelope and its commands. Each domain app writes
and reads its own part in <app>/exchange.py.

It may import every domain app and what they import; none imports it.
"""
