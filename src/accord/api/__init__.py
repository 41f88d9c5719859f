"""The node's HTTP API (FastAPI): versioned REST under ``/api/v1``; see ``docs/api.md``.

``accord.api.app.create_app`` builds the application; ``accord serve`` runs it.
"""
