"""Running Spoor: backup and restore, the doctor, health and metrics, log lines."""
