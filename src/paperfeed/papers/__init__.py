"""Papers: feed views (day, week, month), trending, paper details — the read side of the product."""
