"""An independent certificate-page generator for held-out evaluation (see generate.py)."""
