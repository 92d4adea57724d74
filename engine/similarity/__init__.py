"""Similarity: the model trained on feature vectors, the index searched with it, and
what is built on them (explanations, radio rules, the map, evaluation)."""
