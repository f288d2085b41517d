"""Lambda entry points: one package per function, each a thin handler over ``asusual``."""
