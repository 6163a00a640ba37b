"""Log ingestion: parsing access logs into hits, sessions and visitors."""
