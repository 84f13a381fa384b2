"""rq jobs, one module per area. Each takes ids and primitives and says why a second run is harmless."""
