"""The plan: programmes, projects, phases, checklist items, memberships and their roles, schedule
and budget variance, and the plan page where managers edit them.

It may import core, accounts and notifications.
"""
