"""A second, independent generator of resident-ID-card photos with ground truth (see generate)."""
