"""Labelled music to try and measure Encore on: the FMA dataset's metadata, and a
generated demo library."""
