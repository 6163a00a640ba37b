"""Privacy: retention, erasure and export of what Spoor stores (see docs/privacy.md)."""
