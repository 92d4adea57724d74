"""Pre-trained neural audio models, run with onnxruntime from weights shipped as data.

:mod:`engine.neural.musicnn` computes the input and runs the model; the development tool
``tools/musicnn_convert.py`` (not shipped) turned TensorFlow checkpoints into
``models/*.npz`` without TensorFlow.
"""
