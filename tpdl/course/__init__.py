"""What a course notebook imports: training budgets, datasets, training costs, TP4's phantoms, TP5's
videos, TP2's experiment model, and validation without side effects. This is the student runtime:
it imports nothing of the judge, the graders or the classroom."""
