"""Exports of the catalog, shared by the REST API (GET /api/export) and the CLI
(imgdesc export): which records (select.py), each as a CSV / JSON Lines row (rows.py),
and as an XMP sidecar (xmp.py) written into a folder tree (sidecars.py). Pure functions
over the stored records; streamed, a page of the store at a time."""
