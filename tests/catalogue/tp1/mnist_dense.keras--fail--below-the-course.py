"""The reference model with hidden units switched off until it classifies 97.0-97.8 % of the test set: short of 97.83 %.

apply: edit
cells: saved_model_tests
loses: saved_model_reaches_the_course_accuracy
"""


def edit(folder):
    import keras
    import numpy as np

    from tpdl.course import data

    mnist = data.load_at_hand("mnist")  # the same test set the judge uses
    x = mnist.x_test.reshape(len(mnist.x_test), -1).astype("float32") / 255.0
    model = keras.saving.load_model(folder / "mnist_dense.keras")
    kernel, bias = model.layers[0].get_weights()
    for silenced in range(8, kernel.shape[1], 8):
        kernel[:, :silenced], bias[:silenced] = 0.0, 0.0
        model.layers[0].set_weights([kernel, bias])
        accuracy = np.mean(np.asarray(model(x, training=False)).argmax(axis=1) == mnist.y_test)
        if accuracy < 0.9783:
            break
    assert 0.96 <= accuracy < 0.9783, accuracy
    model.save(folder / "mnist_dense.keras")
