"""Approval gates: criteria, approvers, delegations, signatures, rollout stages and the audit
chain; who may sign is decided in gates.policy.

It may import risks, metrics, projects and what they import; not the pages above it.
"""
