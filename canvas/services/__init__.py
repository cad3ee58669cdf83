"""Use cases of the core app: named functions with keyword-only arguments."""
