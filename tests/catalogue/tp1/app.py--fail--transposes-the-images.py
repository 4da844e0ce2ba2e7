"""The reference app reading each image's rows as its columns: it serves the model, but not the
model's predictions of the images it is sent.

cells: app_tests
loses: app_predicts_one_image, app_predicts_a_batch
apply: edit
"""

FLATTENED = "x = images.reshape(len(images), -1) / 255.0"


def edit(folder):
    app = folder / "app.py"
    text = app.read_text()
    assert FLATTENED in text, "the reference app no longer flattens its images the way this variant changes"
    app.write_text(text.replace(FLATTENED, "x = images.transpose(0, 2, 1).reshape(len(images), -1) / 255.0"))
