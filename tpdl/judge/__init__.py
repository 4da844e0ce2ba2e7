"""The judge: what is graded of a submission (``intake``), the sandbox that runs a student's code
(``sandbox``, ``worker``), the one typed protocol every message between them follows, and the
session that asks a submission's workers questions while its graders run."""
