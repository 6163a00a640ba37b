"""Spoor: which organizations visit your website, and who follows them up."""
