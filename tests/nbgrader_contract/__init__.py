"""nbgrader's own app tests, run on kit courses (see conftest.py)."""
