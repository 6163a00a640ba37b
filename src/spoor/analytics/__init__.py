"""Reports over stored visits and hits."""
