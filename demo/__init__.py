"""The demo programme: its plans, the teams' state on them, and the loader behind
`manage.py load_demo`. It sits at the top: it may import projects, risks, metrics, gates and
the plans' Markdown import, and nothing imports it."""
