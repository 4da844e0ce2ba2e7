"""Never finishes running its first cell.

place: first
"""

while True:
    pass
