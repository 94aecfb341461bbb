"""``from loadprofile.shapes import PlanShape``: the import shaped locustfiles copy (kept where
it was before the engine package); the shape lives in ``loadprofile.engine.shapes``."""

from loadprofile.engine.shapes import PlanShape

__all__ = ["PlanShape"]
