"""What JupyterLab shows first, in the course's language (``c.Kit.language``).

``make lab`` and the hub's servers read the settings written here (through ``JUPYTER_CONFIG_PATH``):

* JupyterLab's own words (menus, dialogs) in that language, from its language pack (the French one
  is in ``requirements.lock``), as a default each user may still change in *Settings > Language*;
* ``make lab`` opens on the releases of the TPs' edition in that language (``release/tp1-fr/`` for
  a course given in French).
"""

import json
from pathlib import Path

from tpdl.core import files, i18n, paths

LOCALES = {"en": "en", "fr": "fr_FR"}  # the kit's languages as JupyterLab's language packs name them
TRANSLATION = "@jupyterlab/translation-extension:plugin"


def default_settings(language: str) -> dict:
    """JupyterLab's settings that speak ``language``, as ``labconfig/default_setting_overrides.json``."""
    return {TRANSLATION: {"locale": LOCALES[language]}}


def first_release(language: str) -> str | None:
    """The release folder of the first TP's edition in ``language`` (its path in the course), if built."""
    for tp in paths.assignments():
        edition = paths.edition(tp, language)
        if paths.release(edition).is_dir():
            return f"release/{edition}"
    return None


def write(folder: Path, language: str | None = None, opening: bool = True) -> Path:
    """Write into ``folder`` (a ``JUPYTER_CONFIG_PATH`` entry) JupyterLab's settings in ``language``
    (the course's by default) and, with ``opening``, the page it opens on."""
    language = language or i18n.language()
    folder = Path(folder)
    files.write_atomically(
        folder / "labconfig" / "default_setting_overrides.json",
        json.dumps(default_settings(language), indent=2) + "\n",
        mode=0o644,
    )
    server = folder / "jupyter_server_config.json"
    shown = first_release(language) if opening else None
    if shown:
        settings = {"ServerApp": {"default_url": f"/lab/tree/{shown}"}}
        files.write_atomically(server, json.dumps(settings, indent=2) + "\n", mode=0o644)
    else:
        server.unlink(missing_ok=True)
    return folder
