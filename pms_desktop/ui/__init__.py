"""Qt widgets, models and dialogs. Talks to services only (never the store or the network)."""
