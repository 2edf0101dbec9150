"""Pure operations on the state model: no printing, no files; time is passed in."""
