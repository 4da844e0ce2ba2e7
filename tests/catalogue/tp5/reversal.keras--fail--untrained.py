"""The reversal model handed in before training: its attention is spread over every key.

apply: edit
cells: reversal_model_tests
loses: reversal_model_reverses_fresh_sequences, reversal_attention_is_the_anti_diagonal
"""


def edit(folder):
    import keras

    trained = keras.saving.load_model(folder / "reversal.keras")
    keras.utils.set_random_seed(0)
    type(trained).from_config(trained.get_config()).save(folder / "reversal.keras")
