"""Rewrites builtins that checks rely on (isinstance, len, AssertionError, print).

proof: ATTACK builtins-patched: ran
"""

import builtins
import sys


class Harmless(Exception):
    pass


builtins.AssertionError = Harmless
builtins.isinstance = lambda *args: True
builtins.len = lambda obj: 37
builtins.print = lambda *args, **kwargs: None
sys.stdout.write("ATTACK builtins-patched: ran\n")
sys.stdout.flush()


def preprocess(images, labels):
    return "x", "y"
