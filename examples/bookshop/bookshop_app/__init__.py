"""The bookshop application (only what its migrations need)."""
