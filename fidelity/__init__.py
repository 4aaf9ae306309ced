"""Fidelity: scene stills scored against the product's photos, and regenerated until they show the product.

scorers.py says how faithful a still is (CLIP, or a weight-free matcher); policy.py how faithful
each kind of scene must be and how many attempts it gets; loop.py renders, scores and renders again.
"""
