"""Support code for the frozen (PyInstaller) build."""
