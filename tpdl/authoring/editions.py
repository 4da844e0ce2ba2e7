"""A TP's editions: the English source and its translations, kept the same notebook in another language.

A TP is written in English in ``source/<tp>/<tp>.nb.py``; its French edition lives beside it, in
``source/<tp>-fr/<tp>-fr.nb.py`` (an nbgrader assignment of its own, so that nbgrader's exchange can
release either), with translated copies of the TP's deliverable templates. Only what a student reads
is translated:

* markdown cells;
* comments, docstrings, the messages of the visible tests (``assert ..., "message"``), of exceptions
  raised, of what ``print`` shows, and the texts of figures (titles, axis labels, legends); the
  strings of a line that ends with the comment ``# i18n`` (labels that reach a figure through a
  variable), in every edition.

Everything else is the same in both: cells, their order and nbgrader metadata (grade ids, points,
locks), the code (compared as Python syntax trees, the texts above set aside), the solution markers,
and in markdown the code blocks (but their comments), the inline code, the formulas and the
exercises' points. :func:`differences` lists where an edition departs from its source;
:func:`english_left` lists what still reads as English, or breaks French typography, in a French
edition. ``python -m tpdl.authoring.editions [tp...]`` prints
both.
"""

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from tpdl.core import paths

# Calls and keywords whose text arguments are read by the student, not by the program.
TEXT_CALLS = {
    "print",
    "set_title",
    "set_xlabel",
    "set_ylabel",
    "set_zlabel",
    "suptitle",
    "title",
    "xlabel",
    "ylabel",
    "text",
    "annotate",
    "set_text",
    "legend",
    "warn",
    "require",  # tpdl.course.costs.require: a threshold's message, asserted or printed
}
TEXT_KEYWORDS = {"label", "title", "xlabel", "ylabel", "suptitle", "msg", "help", "description"}
TEXT = "<text>"
I18N = re.compile(r"#\s*i18n\s*")  # a line whose strings are all texts (:func:`marked_lines`)
MARKER = re.compile(r"^\s*#+\s*(BEGIN|END) (SOLUTION|HIDDEN TESTS)\b.*$", re.M)
CODE_BLOCK = re.compile(r"^```.*?^```", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`]+`")  # may run over a line break
SHELL_COMMENT = re.compile(r"(^|\s)#.*$", re.M)
MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$", re.S)
HEADING = re.compile(r"^(#{1,6})\s", re.M)
POINTS = re.compile(r"\((\d+(?:\.\d+)?) points?")


@dataclass(frozen=True)
class Edition:
    """One edition of a TP: its nbgrader assignment and its text source."""

    tp: str
    language: str

    @property
    def assignment(self) -> str:
        return paths.edition(self.tp, self.language)

    @property
    def folder(self) -> Path:
        return paths.source(self.assignment)

    @property
    def text_source(self) -> Path:
        return self.folder / f"{self.assignment}.nb.py"


def translations(tp: str) -> list[Edition]:
    """The editions of ``tp`` other than the English source, those whose text source exists."""
    found = [Edition(tp, lang) for lang in paths.LANGUAGES if lang != paths.SOURCE_LANGUAGE]
    return [e for e in found if e.text_source.is_file()]


def _read(path: Path):
    import jupytext

    return jupytext.read(path)


def _text_constants(node):
    """The string constants of ``node`` a reader sees: not the format specifications of f-strings."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node
    elif isinstance(node, ast.JoinedStr):
        for value in node.values:
            if isinstance(value, ast.Constant):
                yield value
            elif isinstance(value, ast.FormattedValue):
                yield from _text_constants(value.value)
    else:
        for child in ast.iter_child_nodes(node):
            yield from _text_constants(child)


def _is_format_spec(root, joined: ast.JoinedStr) -> bool:
    return any(isinstance(n, ast.FormattedValue) and n.format_spec is joined for n in ast.walk(root))


def marked_lines(code: str) -> set[int]:
    """The lines of ``code`` whose strings are all texts for the student, as a ``# i18n`` comment at
    their end says (the labels of a figure that reach it through a variable)."""
    import io
    import tokenize

    return {
        token.start[0]
        for token in tokenize.generate_tokens(io.StringIO(code).readline)
        if token.type == tokenize.COMMENT and I18N.fullmatch(token.string)
    }


class _Texts(ast.NodeTransformer):
    """Replaces the texts a student reads by one placeholder, so that two editions' trees compare."""

    def __init__(self, marked: set[int] = frozenset()):
        self.marked = marked

    def visit_Constant(self, node):
        if isinstance(node.value, str) and getattr(node, "lineno", None) in self.marked:
            self._blank(node)
        return node

    def visit_JoinedStr(self, node):
        if node.lineno in self.marked:
            return self._blank(node)
        return self.generic_visit(node)

    def _blank(self, node):
        for text in _text_constants(node):
            self._text(text)
        if isinstance(node, ast.JoinedStr):  # the words around the expressions go; the expressions stay
            node.values = [v for v in node.values if not isinstance(v, ast.Constant)]
        for inner in ast.walk(node):
            if isinstance(inner, ast.JoinedStr) and inner is not node and not _is_format_spec(node, inner):
                inner.values = [v for v in inner.values if not isinstance(v, ast.Constant)]
        return node

    def _text(self, constant: ast.Constant) -> None:
        constant.value = TEXT

    def _docstring(self, node):
        body = getattr(node, "body", None)
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            if isinstance(body[0].value.value, str):
                body[0].value.value = TEXT

    def visit_Module(self, node):
        self._docstring(node)
        return self.generic_visit(node)

    def visit_FunctionDef(self, node):
        self._docstring(node)
        return self.generic_visit(node)

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef

    def visit_Assert(self, node):
        self.generic_visit(node)
        if node.msg is not None:
            self._blank(node.msg)
        return node

    def visit_Raise(self, node):
        self.generic_visit(node)
        if isinstance(node.exc, ast.Call):
            for arg in node.exc.args:
                self._blank(arg)
        return node

    def visit_Call(self, node):
        self.generic_visit(node)
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name in TEXT_CALLS:
            for arg in node.args:
                if isinstance(arg, (ast.Constant, ast.JoinedStr)):
                    self._blank(arg)
        for keyword in node.keywords:
            if keyword.arg in TEXT_KEYWORDS or name in TEXT_CALLS and keyword.arg is None:
                self._blank(keyword.value)
        return node


def python_of(source: str) -> str:
    """A code cell's source as Python (IPython's magics and shell escapes made calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def code_shape(source: str, python: bool = True) -> str:
    """What must be the same in every edition of a code cell or a Python template: its syntax tree,
    with the texts a student reads left out."""
    code = python_of(source) if python else source
    return ast.dump(_Texts(marked_lines(code)).visit(ast.parse(code)), include_attributes=False)


def markers(source: str) -> list[str]:
    return [m.group(1) + " " + m.group(2) for m in MARKER.finditer(source)]


def markdown_shape(source: str) -> dict:
    """What must be the same in every edition of a markdown cell: its headings' levels, its inline
    code, its formulas and the points it states."""
    blocks = [SHELL_COMMENT.sub("", block) for block in CODE_BLOCK.findall(source)]  # comments translate
    source = CODE_BLOCK.sub("", source)
    return {
        "code blocks": blocks,
        "headings": [len(h) for h in HEADING.findall(source)],
        "inline code": sorted(" ".join(code.split()) for code in INLINE_CODE.findall(source)),
        "formulas": sorted(m.group(0) for m in MATH.finditer(source)),
        "points": POINTS.findall(source.replace(",", ".")),
    }


def _where(cell_number: int, cell) -> str:
    first = next((line for line in cell.source.splitlines() if line.strip()), "")
    return f"cell {cell_number} ({cell.cell_type}: {first[:60]!r})"


def compare_notebooks(source, edition) -> list[str]:
    """Where ``edition`` (a jupytext notebook) departs from ``source``."""
    problems = []
    if len(source.cells) != len(edition.cells):
        problems.append(f"{len(edition.cells)} cells where the source has {len(source.cells)}")
    for number, (ours, theirs) in enumerate(zip(source.cells, edition.cells), start=1):
        where = _where(number, ours)
        if ours.cell_type != theirs.cell_type:
            problems.append(f"{where}: a {theirs.cell_type} cell in the edition")
            continue
        mine = {k: v for k, v in ours.metadata.items() if k != "lines_to_next_cell"}
        yours = {k: v for k, v in theirs.metadata.items() if k != "lines_to_next_cell"}
        if mine != yours:
            problems.append(f"{where}: metadata {yours} where the source has {mine}")
        if ours.cell_type == "code":
            if markers(ours.source) != markers(theirs.source):
                problems.append(f"{where}: solution or hidden-test markers differ")
            try:
                if code_shape(ours.source) != code_shape(theirs.source):
                    problems.append(f"{where}: the code differs (beyond comments and texts for the student)")
            except SyntaxError as error:
                problems.append(f"{where}: the edition's code does not parse: {error}")
        elif ours.cell_type == "markdown":
            a, b = markdown_shape(ours.source), markdown_shape(theirs.source)
            for key in a:
                if a[key] != b[key]:
                    problems.append(f"{where}: its {key} differ: {b[key]} where the source has {a[key]}")
    return problems


def _template_shape(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".py":
        return code_shape(text, python=False) + "\n" + "\n".join(markers(text))
    lines = (
        line.split("#", 1)[0].rstrip() if line.lstrip().startswith("#") else line.rstrip()
        for line in text.splitlines()
    )
    return "\n".join(line for line in lines if line)


def differences(tp: str) -> list[str]:
    """Every way in which the translations of ``tp`` depart from its English source."""
    from tpdl.authoring import notebooks

    problems = []
    source_folder = paths.source(tp)
    templates = {p.relative_to(source_folder) for p in notebooks.templates(source_folder)}
    hidden = {p.relative_to(source_folder) for p in source_folder.rglob(".*") if p.is_file()}
    for edition in translations(tp):
        name = edition.text_source.relative_to(paths.course_dir())
        found = compare_notebooks(_read(notebooks.text_source(tp)), _read(edition.text_source))
        problems += [f"{name}: {p}" for p in found]
        theirs = {p.relative_to(edition.folder) for p in notebooks.templates(edition.folder)}
        theirs |= {p.relative_to(edition.folder) for p in edition.folder.rglob(".*") if p.is_file()}
        for missing in sorted((templates | hidden) - theirs):
            problems.append(f"{edition.folder.name}/{missing}: missing (the source has it)")
        for extra in sorted(theirs - templates - hidden):
            problems.append(f"{edition.folder.name}/{extra}: not in the source")
        for relative in sorted((templates | hidden) & theirs):
            try:
                same = _template_shape(source_folder / relative) == _template_shape(edition.folder / relative)
            except SyntaxError as error:
                problems.append(f"{edition.folder.name}/{relative}: does not parse: {error}")
                continue
            if not same:
                problems.append(
                    f"{edition.folder.name}/{relative}: differs from the source beyond comments and texts"
                )
    return problems


# The lint of a French edition. English is found by its small words, which French never uses; a
# text in English on purpose (a paper's title) is marked up as such: <span lang="en">...</span>.
ENGLISH_WORDS = set(
    """the and of is are with should you your this that each which its it be from not by into than when
    what where will would can does do has have there their they these those must only how why to for in
    at we our but so an was were been then here use using returns return given one same""".split()
)
FRENCH_WORDS = set(
    """le la les de des du un une et est sont pour dans avec que qui ne pas par sur au aux ce cette ces
    son sa ses il elle chaque vous votre vos en se plus entre sans renvoie""".split()
)
ENGLISH_MARKUP = re.compile(r'<span lang="en">.*?</span>', re.S)
URL = re.compile(r"\w+://\S+|\]\([^)]*\)|<[^>]+>")
WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
NBSP = "\u00a0\u202f"
TYPOGRAPHY = [
    (re.compile(rf"[^\s{NBSP}([][:;!?](?=\s|$)"), "a non-breaking space goes before « : ; ! ? »"),
    (re.compile(r" [:;!?](?=\s|$)"), "the space before « : ; ! ? » is a non-breaking one (U+00A0 or U+202F)"),
    (re.compile(r'"'), "French quotes are « ... » (with non-breaking spaces inside)"),
    (re.compile(rf"«(?![{NBSP}])|(?<![{NBSP}])»"), "« and » hold a non-breaking space on their inner side"),
    (re.compile(r"\d\.\d"), "a decimal comma in French (97,83), or put the number in `code`"),
    (
        re.compile(r"(?<![\d,])[1-9]\d{0,2},\d{3}(?!\d)"),
        "thousands are separated by a narrow non-breaking space (70\u202f000)",
    ),
    (re.compile(r"\d ?%"), "a non-breaking space goes before % (97,83\u00a0%)"),
]


def _prose(text: str) -> str:
    """``text`` without what is not French prose: inline code, formulas, addresses, HTML, English
    marked as such."""
    blocks = [" ".join(m.group(0) for m in SHELL_COMMENT.finditer(b)) for b in CODE_BLOCK.findall(text)]
    for pattern in (ENGLISH_MARKUP, CODE_BLOCK, MATH, INLINE_CODE, URL):
        text = pattern.sub(" ", text)
    return "\n".join([text, *(URL.sub(" ", block) for block in blocks)])  # a code block's comments are prose


class _Collector(_Texts):
    """Collects the texts a student reads in a code cell (instead of blanking them)."""

    def __init__(self, marked: set[int] = frozenset()):
        super().__init__(marked)
        self.found: list[str] = []

    def _blank(self, node):
        self.found.append(" ".join(c.value for c in _text_constants(node)))  # an f-string's words, together
        return node

    def _docstring(self, node):
        body = getattr(node, "body", None)
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            if isinstance(body[0].value.value, str):
                self.found.append(body[0].value.value)


def reader_texts(source: str, python: bool = True) -> list[str]:
    """The texts of a code cell or Python file a student reads: comments, docstrings, messages."""
    import io
    import tokenize

    code = python_of(source) if python else source
    collector = _Collector(marked_lines(code))
    collector.visit(ast.parse(code))
    comments = [
        token.string.lstrip("#").strip()
        for token in tokenize.generate_tokens(io.StringIO(code).readline)
        if token.type == tokenize.COMMENT
    ]
    pragmas = re.compile(
        r"^(noqa|type:|fmt:|pragma|i18n$)|(BEGIN|END) (SOLUTION|HIDDEN TESTS)|YOUR CODE HERE"
    )
    comments = [c for c in comments if c and not pragmas.search(c)]
    return comments + collector.found


def lint_text(text: str) -> list[str]:
    """What reads as English, or breaks French typography, in a French ``text``."""
    problems = []
    for line in _prose(text).splitlines():
        words = [w.lower() for w in WORD.findall(line)]
        english = [w for w in words if w in ENGLISH_WORDS]
        french = [w for w in words if w in FRENCH_WORDS]
        if len(english) >= 2 and len(english) >= len(french):
            problems.append(f"reads as English ({', '.join(english[:4])}): {line.strip()[:80]!r}")
            continue
        for pattern, rule in TYPOGRAPHY:
            if pattern.search(line):
                problems.append(f"{rule}: {line.strip()[:80]!r}")
    return problems


def english_left(tp: str) -> list[str]:
    """What still reads as English, or breaks French typography, in ``tp``'s French edition: its
    markdown, comments, docstrings and messages, and those of its templates."""
    from tpdl.authoring import notebooks

    problems = []
    for edition in translations(tp):
        if edition.language != "fr":
            continue
        name = edition.text_source.relative_to(paths.course_dir())
        for number, cell in enumerate(_read(edition.text_source).cells, start=1):
            where = f"{name}: {_where(number, cell)}"
            if cell.cell_type == "markdown":
                texts = [cell.source]
            elif cell.cell_type == "code":
                texts = reader_texts(cell.source)
            else:
                texts = []
            problems += [f"{where}: {p}" for text in texts for p in lint_text(text)]
        for template in notebooks.templates(edition.folder):
            relative = template.relative_to(paths.course_dir())
            text = template.read_text(encoding="utf-8")
            if template.suffix == ".py":
                texts = reader_texts(text, python=False)
            else:
                texts = [
                    line.lstrip("#").strip() for line in text.splitlines() if line.lstrip().startswith("#")
                ]
            problems += [f"{relative}: {p}" for t in texts for p in lint_text(t)]
    return problems


def main(argv: list[str]) -> int:
    tps = argv or paths.assignments()
    found = 0
    for tp in tps:
        for line in differences(tp) + english_left(tp):
            print(line)
            found += 1
    print(f"{found} difference(s) in {', '.join(tps)}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
