"""Community features: accounts, sessions, API tokens, upvotes and rate limits (services over ``db``)."""
