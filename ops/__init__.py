"""Operations: the health check, the worker heartbeat and the operations page.

It may import every domain app and what they import; none imports it.
"""
