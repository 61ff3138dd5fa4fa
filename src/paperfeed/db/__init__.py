"""Storage layer: engine setup, ORM tables, migrations and every SQL statement of the project."""
