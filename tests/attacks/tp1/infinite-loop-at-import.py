"""Never finishes running its first cell.

place: first
proof: did not finish running your notebook within
"""

while True:
    pass
