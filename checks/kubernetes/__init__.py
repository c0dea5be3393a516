"""See checks/__init__.py."""
