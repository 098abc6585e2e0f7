"""The course machinery (importable without torch)."""
