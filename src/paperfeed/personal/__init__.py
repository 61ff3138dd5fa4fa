"""Personalisation: the "For you" ranking and personal Atom feed tokens."""
