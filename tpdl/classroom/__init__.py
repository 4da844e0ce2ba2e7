"""Grading a class: the class run (``run``) on local, pooled or cluster judges, the gradebook, the
reports and feedback, nbgrader's commands and formgrader's buttons the kit's way, plain nbgrader
assignments, and the similarity report."""
