"""Ingest: find music files, tell audio from the rest, read their tags (no decoding)."""
