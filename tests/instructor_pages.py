"""The pages an instructor opens, read as a browser reads them: formgrader's view of a graded
notebook, and every source a page would make the browser load."""

import contextlib
import html.parser
import os
import re
from pathlib import Path

# Attributes whose URL the browser fetches (or sends to, for forms and pings) without being asked.
LOADING_ATTRIBUTES = {
    "src",
    "srcset",
    "poster",
    "data",
    "background",
    "action",
    "formaction",
    "ping",
    "codebase",
    "archive",
    "lowsrc",
    "dynsrc",
    "longdesc",
    "manifest",
    "icon",
}
# Elements whose ``href`` is loaded, not followed (HTML's link and base, SVG's references).
LOADING_HREF = {
    "link",
    "base",
    "image",
    "use",
    "feimage",
    "script",
    "pattern",
    "filter",
    "lineargradient",
    "radialgradient",
    "textpath",
    "tref",
    "mpath",
    "cursor",
    "font-face-uri",
    "altglyph",
}
CSS_SOURCE = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)|@import\s+(['"])(.*?)\3""", re.IGNORECASE | re.DOTALL)
REFRESH_URL = re.compile(r"url\s*=\s*['\"]?([^'\";]+)", re.IGNORECASE)
INLINE = ("data:", "attachment:", "#")  # held in the page itself (a fragment: in the same page)
OUTSIDE = re.compile(r"(https?:|file:|ftp:|//)", re.IGNORECASE)


class Sources(html.parser.HTMLParser):
    """Every ``(element, attribute, url)`` a page would load: attributes, srcsets, CSS, refreshes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str, str]] = []
        self._style = False

    def _css(self, tag: str, where: str, text: str) -> None:
        for match in CSS_SOURCE.finditer(text):
            self.found.append((tag, where, (match.group(2) or match.group(4) or "").strip()))

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            value = value or ""
            if name == "srcset":
                for candidate in value.split(","):
                    self.found.append((tag, name, (candidate.split() or [""])[0]))
            elif (
                name in LOADING_ATTRIBUTES
                or (name == "href" and tag in LOADING_HREF)
                or (name == "xlink:href" and tag != "a")
            ):
                self.found.append((tag, name, value.strip()))
            elif name == "style":
                self._css(tag, name, value)
        attributes = dict(attrs)
        if tag == "meta" and (attributes.get("http-equiv") or "").lower() == "refresh":
            for url in REFRESH_URL.findall(attributes.get("content") or ""):
                self.found.append((tag, "content", url.strip()))
        self._style = tag == "style"

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self._style = False

    def handle_data(self, data):
        if self._style:
            self._css("style", "text", data)

    def handle_endtag(self, tag):
        self._style = False


def sources(page: str) -> list[tuple[str, str, str]]:
    """What ``page`` would load: ``(element, attribute, url)``, backslashes read as slashes
    (as browsers do)."""
    parser = Sources()
    parser.feed(page)
    parser.close()
    return [(tag, name, url.replace("\\", "/")) for tag, name, url in parser.found]


def outside(page: str, baseline: str = "") -> list[tuple[str, str, str]]:
    """The sources of ``page``, beyond those of ``baseline``, that are not held in the page itself
    (anything but ``data:`` URLs and notebook attachments)."""
    known = set(sources(baseline)) if baseline else set()
    return [s for s in sources(page) if s not in known and not s[2].lower().startswith(INLINE)]


def remote(found: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """The sources among ``found`` that leave the machine or the page's folder: http, https, file, ``//``."""
    return [s for s in found if OUTSIDE.match(s[2])]


@contextlib.contextmanager
def _course_dir(root: Path):
    previous = os.environ.get("TPDL_COURSE_DIR")
    os.environ["TPDL_COURSE_DIR"] = str(root)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("TPDL_COURSE_DIR", None)
        else:
            os.environ["TPDL_COURSE_DIR"] = previous


def formgrader_view(root: Path, notebook: Path) -> str:
    """The page formgrader serves for a graded notebook: nbgrader's own exporter, template and config."""
    return formgrader_views(root, [notebook])[0]


def formgrader_views(root: Path, notebooks: list[Path]) -> list[str]:
    """The pages formgrader serves for graded notebooks of one course, made by one exporter (its
    templates compiled once)."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config.loader import PyFileConfigLoader

    with _course_dir(root):
        config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    exporter = HTMLExporter(config=config)
    resources = {
        "assignment_id": "a",
        "notebook_id": "n",
        "submission_id": "s",
        "index": 0,
        "total": 1,
        "base_url": "",
        "student": "s",
        "last_name": None,
        "first_name": None,
        "notebook_path": "n",
    }
    return [exporter.from_filename(str(notebook), resources=dict(resources))[0] for notebook in notebooks]
