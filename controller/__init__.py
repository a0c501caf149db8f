"""Flow compilation (pure) and the Ryu-API controller app that pushes it."""
