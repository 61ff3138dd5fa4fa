"""Outgoing email: sender protocol and implementations, templates, tokens, subscriptions, digests."""
