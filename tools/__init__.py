"""Development tools: run from a clone, never shipped with the app."""
