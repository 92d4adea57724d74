"""Encore's engine: scan, analyse, train and recommend, with no Qt anywhere.

Import the pieces from their modules (``from engine.library import Library``);
this package stays light so importing it never pulls in librosa or scikit-learn.
"""

__version__ = "0.1.0"
