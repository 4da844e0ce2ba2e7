"""Writing and shipping the course: text sources to notebooks, nbgrader releases and executed
solutions, the sample class, the catalogues that prove the graders, the message catalogues and the
students' published repository."""
