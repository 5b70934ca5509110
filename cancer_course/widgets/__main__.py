"""``python -m cancer_course.widgets``: prints what the package holds (its docstring: a map of its modules)."""

from . import __doc__ as MAP

print(MAP)
