"""KPIs, their sources and measurements, and each KPI's status ("meets the target" is decided
here); collection/ reads the sources.

It may import projects and what it imports; not risks, gates or the pages above them.
"""
