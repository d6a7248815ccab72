"""Simulated capture attacks on resident-ID photos (issue 12): screenshots, screen
recaptures, copies, edited images, several cards, covered fields, temporary cards and
portrait substitutions, drawn from ``samples.id_random``'s independent card artwork."""
