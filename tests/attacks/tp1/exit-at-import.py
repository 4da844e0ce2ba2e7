"""Calls sys.exit in its first cell.

place: first
proof: SystemExit: 0
"""

import sys

sys.exit(0)
