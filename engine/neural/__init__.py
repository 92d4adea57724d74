"""Pre-trained neural audio models, run with onnxruntime from weights shipped as data.

:mod:`engine.neural.convert` turns a TensorFlow checkpoint into ``models/*.npz`` (no
TensorFlow needed); :mod:`engine.neural.musicnn` computes the input and runs the model.
"""
