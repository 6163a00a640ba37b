"""Live tracking sources: each turns one request format into hits for the pipeline."""
