"""The reference CNN with inputs of its last layer switched off until it classifies 66-69.7 % of the test set.

apply: edit
cells: cnn_model_tests
loses: cnn_beats_the_course_on_the_test_set
"""


def edit(folder):
    import keras
    import numpy as np

    from tpdl.course import data

    cifar = data.load_at_hand("cifar10")  # the same test set the judge uses
    model = keras.saving.load_model(folder / "cifar10_cnn.keras")
    head = model.layers[-1]  # Dense(10, softmax) on the pooled features
    features = keras.Model(model.inputs, head.input).predict(cifar.x_test.astype("float32"), verbose=0)
    kernel, bias = head.get_weights()

    def accuracy(silenced):
        logits = features[:, silenced:] @ kernel[silenced:] + bias
        return np.mean(logits.argmax(axis=1) == cifar.y_test)

    silenced = next(n for n in range(len(kernel)) if accuracy(n) < 0.6974)
    assert 0.66 <= accuracy(silenced) < 0.6974, accuracy(silenced)
    kernel[:silenced] = 0.0
    head.set_weights([kernel, bias])
    model.save(folder / "cifar10_cnn.keras")
