"""Identification: which organization is behind an IP address, and what kind it is."""
