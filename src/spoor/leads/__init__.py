"""Leads: organizations scored by fit and intent, with their reasons."""
