"""Notifications: their kinds, mutes, the notify service and e-mail delivery.

It may import core only; the domain apps call it when they must tell people something.
"""
