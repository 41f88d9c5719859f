"""Wire and file formats, kept apart from the domain model (see docs/adr/0004)."""
