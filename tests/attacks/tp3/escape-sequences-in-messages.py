"""Raises errors whose messages hold terminal escapes, bidi overrides and Rich markup.

proof: \\x1b[2J
"""

MESSAGE = "\x1b[2J\x1b]52;c;cHduZWQ=\x07\u202e evil [bold red]markup[/] \x1b[31mred\x9b0m"


def build_cnn(*args, **kwargs):
    raise ValueError(MESSAGE)


def gram_matrix(*args, **kwargs):
    raise ValueError(MESSAGE)


raise RuntimeError(MESSAGE)
