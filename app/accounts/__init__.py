"""Units and user accounts: validation and creation shared by the staff pages and the CLI."""
