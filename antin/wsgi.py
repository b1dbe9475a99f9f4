"""WSGI entry point for gunicorn: ``gunicorn antin.wsgi:app`` (``antin serve`` does this for you)."""

from antin.app import create_app

app = create_app()
