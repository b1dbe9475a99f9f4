"""The platform kernel: what every feature stands on (settings, the instance, the database, the web helpers,
errors, health, OpenAPI, logs, languages, the clock, the audit log and rate limits).

It imports nothing from the features (``directory``, ``idp``, ``signing``, ``admin``) nor from the app and CLI
that compose them; docs/architecture.md draws the layers.
"""
