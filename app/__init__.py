"""The imgdesc application: CLI entry point (and, later, the Litestar app)."""
