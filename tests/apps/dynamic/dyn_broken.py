"""A module whose import fails: a dynamic app that cannot load (test_dynamic_apps_vs_uwsgi.py)."""

raise RuntimeError("dyn_broken: broken on import")
