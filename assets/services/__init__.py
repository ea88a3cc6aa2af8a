"""Writes on a company's assets, one module per kind (every write audited)."""
