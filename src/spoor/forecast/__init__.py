"""The 30-day rule forecast: pure maths over plain records (see docs/forecast.md)."""
