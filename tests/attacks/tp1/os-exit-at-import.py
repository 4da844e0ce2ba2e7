"""Leaves with os._exit in its first cell, skipping every handler.

place: first
proof: exited with status 0
"""

import os

os._exit(0)
