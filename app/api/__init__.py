"""The REST API under /api: controllers (controllers.py, health.py), their bodies
(schemas.py) and the offline OpenAPI page (docs.py)."""
