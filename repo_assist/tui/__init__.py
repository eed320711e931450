"""The Textual TUI (``repo-assist tui``): a thin shell over ``assistant`` and ``asking``.

Importing this package imports nothing heavy; ``app.RepoAssistApp`` pulls in Textual.
"""
