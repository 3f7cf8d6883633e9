"""Models split by role: ``bank`` (exam data), ``api`` (the public wire format) and ``records`` (stored)."""
