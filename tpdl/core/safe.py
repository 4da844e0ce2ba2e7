"""Text that students control, made safe for each place it is shown.

Student ids, check messages (they quote what a student's code raised or returned), cell records,
file names and the output of workers all reach an instructor's terminal, spreadsheet, browser or
log. Each medium gets its own escaping, applied where the text is written:

* :func:`text` for any string stored or shown: always encodable (a lone surrogate becomes U+FFFD);
* :func:`for_terminal`: no control character and no escape sequence (Rich markup is never read
  from data either: the kit prints data as ``rich.text.Text``);
* :func:`for_log`: control characters other than newlines and tabs made visible;
* :func:`for_csv`: a cell a spreadsheet would evaluate (``=``, ``+``, ``-``, ``@``...) made literal;
* HTML goes through Jinja2 templates with autoescaping (``tpdl.classroom.report``), and notebooks through
  :func:`tpdl.classroom.report.safe_notebook`.
"""

import re

# C0 and C1 control characters, DEL, and the escape sequences that start with ESC or CSI.
_ESCAPE_SEQUENCE = re.compile(
    r"(\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)?|\x1b.?|\x9b[0-?]*[ -/]*[@-~])"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_CSV_ACTIVE = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")


def text(value) -> str:
    """``value`` as a string that can always be encoded (lone surrogates replaced)."""
    string = value if isinstance(value, str) else str(value)
    try:
        string.encode("utf-8")
    except UnicodeEncodeError:
        string = _SURROGATE.sub("\ufffd", string)
    return string


def _visible(match: re.Match) -> str:
    return "".join(f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}" for c in match.group(0))


def for_log(value) -> str:
    """``value`` for a log file: printable, newlines and tabs kept, every other control made visible."""
    return _CONTROL.sub(_visible, _ESCAPE_SEQUENCE.sub(_visible, text(value)))


def for_terminal(value, max_chars: int = 300) -> str:
    """``value`` on one line of a terminal: escapes made visible, newlines shown as spaces, bounded."""
    line = for_log(value).replace("\r", " ").replace("\n", " ").replace("\t", " ")
    return line if len(line) <= max_chars else line[: max_chars - 1] + "…"


def for_csv(value):
    """``value`` as a spreadsheet cell that is never evaluated (numbers stay numbers)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    raw = text(value)
    cell = for_log(raw).replace("\n", " ")
    return "'" + cell if raw.startswith(_CSV_ACTIVE) or cell.startswith(_CSV_ACTIVE) else cell
