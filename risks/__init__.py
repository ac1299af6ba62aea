"""The risk register: risks, scoring, assessments, mitigation actions and escalation.

It may import projects and what it imports; not metrics, gates or the pages above them.
"""
