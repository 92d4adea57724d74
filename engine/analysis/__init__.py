"""Analysis: decode audio, compute feature vectors, and run that in worker processes.

Nothing here is JIT-compiled (see :mod:`engine.analysis.dsp`).
"""
