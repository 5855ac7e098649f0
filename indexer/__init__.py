"""Watching, reconciling, queueing, embedding and storing images.

Depends on the describe core; nothing in describe/ imports from here.
"""
