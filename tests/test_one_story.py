"""The notebooks tell the story the graders play: every number a sentence about the hidden tests
states is one the TP's manifest holds, and every sample and threshold of the manifest is stated.

The sentences about the hidden tests: in each markdown cell of ``source/<tp>/<tp>.nb.py``, each
paragraph that mentions the hidden tests (or being graded), from that mention to the paragraph's
end. Their numbers: those written as a percentage (``97 %``), in points (``1.5 points``: a
difference of accuracies) or as a count of items (``2,000 fresh digits``, ``512 new phantoms``);
inline code is left out. A number matches a manifest value written as the notebook writes it
(``97.83 %`` is 0.9783, ``1.5 points`` 0.015, ``10,000`` 10000); the size of the datasets' test
sets is a fact of the data, not of the graders, and may be stated too. Every threshold and sample of
the manifest is written somewhere in the notebook's markdown, in any of these forms or as a plain
number (``0.90``); of a list of looks, the first and the last.
"""

import re

import jupytext
import pytest

from tpdl.authoring import notebooks
from tpdl.core import manifest, paths

ABOUT_THE_TESTS = re.compile(r"hidden tests?|when you are graded|the judge", re.IGNORECASE)
INLINE_CODE = re.compile(r"`[^`]*`")
ITEMS = r"(?:images?|digits?|volumes?|phantoms?|sequences?|videos?|items?)"
QUANTITY = re.compile(
    r"(?<![\w.,])(\d[\d,]*(?:\.\d+)?)(?:\s*(%)|\s+(points?)\b|(?=(?:\s+[a-z-]+){0,2}\s+" + ITEMS + r"\b))"
)
DATA_FACTS = {10_000}  # MNIST's and CIFAR-10's test sets


def markdown(assignment: str) -> list[str]:
    notebook = jupytext.read(notebooks.text_source(assignment))
    return [INLINE_CODE.sub("", cell.source) for cell in notebook.cells if cell.cell_type == "markdown"]


def about_the_tests(assignment: str) -> list[str]:
    """The passages of the notebook that describe the hidden tests (see the module's docstring)."""
    passages = []
    for cell in markdown(assignment):
        for paragraph in re.split(r"\n\s*\n", cell):
            mention = ABOUT_THE_TESTS.search(paragraph)
            if mention:
                start = max(paragraph.rfind(". ", 0, mention.start()) + 1, 0)
                passages.append(" ".join(paragraph[start:].split()))
    return passages


def quantities(text: str) -> list[tuple[str, float]]:
    """Each number ``text`` states as a percentage, in points or as a count, and its value."""
    found = []
    for match in QUANTITY.finditer(text):
        number, percent, points = match.groups()
        value = float(number.replace(",", ""))
        found.append((match.group(0).strip(), value / 100 if percent or points else value))
    return found


NUMBER = re.compile(r"(?<![\w.,])(\d[\d,]*(?:\.\d+)?)(?:\s*(%)|\s+(points?)\b)?")


def manifest_values(assignment: str, *, every_look: bool = True) -> dict[str, float]:
    """The manifest's thresholds and samples, by name: each look of a list of looks, or (not
    ``every_look``) its first and last, which a notebook states ("from 500 up to 8,000")."""
    tp = manifest.load(assignment)
    values = dict(tp.thresholds)
    for name, value in tp.samples.items():
        looks = value if isinstance(value, list) else [value]
        for i, item in enumerate(looks):
            if every_look or i in (0, len(looks) - 1):
                values[f"{name}[{i}]" if isinstance(value, list) else name] = float(item)
    return values


def numbers(text: str) -> list[float]:
    """Every number of ``text``; one written as a percentage or in points as a fraction."""
    found = []
    for number, percent, points in NUMBER.findall(text):
        value = float(number.replace(",", ""))
        found.append(value / 100 if percent or points else value)
    return found


def held(value: float, values) -> bool:
    return any(abs(value - other) <= 1e-9 * max(1.0, abs(other)) for other in values)


def test_quantities_are_read_as_the_notebooks_write_them():
    text = (
        "at least 97.83 % of 2,000 fresh digits, 1.5 points below, 512 new phantoms, Python 3.11, 784 pixels"
    )
    assert quantities(text) == [
        ("97.83 %", pytest.approx(0.9783)),
        ("2,000", 2000.0),
        ("1.5 points", pytest.approx(0.015)),
        ("512", 512.0),
    ]


@pytest.mark.parametrize("assignment", paths.assignments())
def test_the_sentences_about_the_hidden_tests_state_the_manifests_numbers(assignment):
    values = manifest_values(assignment)
    stray = [
        f"{written!r} in: {passage}"
        for passage in about_the_tests(assignment)
        for written, value in quantities(passage)
        if not held(value, [*values.values(), *DATA_FACTS])
    ]
    assert not stray, "numbers no manifest value of the graders holds:\n" + "\n".join(stray)


@pytest.mark.parametrize("assignment", paths.assignments())
def test_every_sample_and_threshold_is_stated_in_the_notebook(assignment):
    stated = [value for cell in markdown(assignment) for value in numbers(" ".join(cell.split()))]
    unstated = [
        name
        for name, value in manifest_values(assignment, every_look=False).items()
        if not held(value, stated)
    ]
    assert not unstated, f"the notebook states none of these manifest values: {unstated}"
