"""Web layer: HTML pages, JSON API and Atom feeds over the services. Nothing imports from here."""
