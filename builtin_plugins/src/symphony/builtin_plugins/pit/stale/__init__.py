"""The Stale Manager: finds what is out of date or past its retention, through every stale source, and reclaims it."""
