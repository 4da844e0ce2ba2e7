"""Leaves app.py a stub and puts the working application in a package app/, which Python imports first.

kind: edit
base: reference
graders: test_app.py
loses: app_health, app_predicts_one_image, app_predicts_a_batch
proof: a package folder would be imported instead of app.py
"""

from tpdl.core import paths


def edit(folder):
    working = (folder / "app.py").read_text()
    (folder / "app").mkdir()
    (folder / "app" / "__init__.py").write_text(working)
    stub = (paths.release("tp1") / "app.py").read_text()
    (folder / "app.py").write_text(stub)
