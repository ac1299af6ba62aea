"""The demo programme: its plans and the teams' state on them as data files, and the loader
behind `manage.py load_demo`. It sits at the top: it may import projects, risks, metrics,
gates and the plans' Markdown import, and nothing imports it."""
