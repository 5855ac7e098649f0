"""The htmx pages: controllers (pages.py, describe.py), what they render (views.py,
responses.py, errors.py), the upload area (uploads.py), static files (static/) and
the wiring server.create_app adds (config.py). Templates live in templates/pages/
and templates/partials/ at the top of the repository."""
