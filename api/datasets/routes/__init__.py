"""Routes of the data API (thin: parse, call the domain, answer)."""
