"""Status pages and reports: status rules, status rows, the programme and project pages, their live
fragments, weekly reports, snapshots, subscriptions and the navigation's counts.

It may import every domain app (projects, risks, metrics, gates) and what they import; none
imports it.
"""
