"""Prospecting: the salesperson's routine around leads (claims first)."""
