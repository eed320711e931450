"""repo-assist: a private, fully local assistant for one git repository."""
__version__ = "0.1.0"
