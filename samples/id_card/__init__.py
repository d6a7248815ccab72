"""Synthetic photos of fictional resident ID cards, with ground truth.

``identities`` makes the holders, ``render`` draws the two flat card sides and
their field layout, ``photo`` photographs a side on a desk, and ``generate``
writes sets (random, or the named golden cases) with a manifest of expected
outcomes.
"""
