"""Hands in a notebook that is JSON nested two hundred thousand levels deep.

kind: edit
proof: Your notebook could not be read
"""


def edit(folder):
    (folder / "tp2.ipynb").write_text('{"cells": ' + "[" * 200_000 + "]" * 200_000 + "}")
