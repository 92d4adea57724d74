"""Encore's desktop player (PySide6). Imports the engine; the engine never imports this."""
