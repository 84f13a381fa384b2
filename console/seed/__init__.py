"""Data for a first run (demo) and for measuring at the utility's scale (city)."""

from __future__ import annotations


def load(size: str, seed: int, echo=print) -> None:
    """Load demo or city-scale data into an empty, migrated database."""
    if size == "demo":
        from .demo import load as load_demo

        load_demo(seed, echo=echo)
    elif size == "city":
        from .city import load as load_city

        load_city(seed, echo=echo)
    else:
        raise ValueError(f"unknown size {size!r}")
