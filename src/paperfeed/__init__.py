"""paperfeed: a self-hostable, community-curated research-paper feed."""

__version__ = "0.1.0"
