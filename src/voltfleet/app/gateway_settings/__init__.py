"""Gateway settings as commands (issue 15): the portal page and its forms."""
