"""A minimal Django project (no database) served with ``--module djangoproj.wsgi``."""
