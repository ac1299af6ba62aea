"""Collection: reading one number from each kind of metric source, over the one HTTP client,
with each kind's configuration checked before it is saved."""
