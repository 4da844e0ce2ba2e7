"""Are the TP2 graders' references Keras's own rules? (They are written out in NumPy so that the
judge needs no TensorFlow; here each is run beside Keras, in float64.)"""

import ast
import importlib.util

import numpy as np
import pytest

from tpdl.authoring import notebooks
from tpdl.core import paths


def grader_module(name: str):
    path = paths.graders("tp2") / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"tp2_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


optimisers = grader_module("test_optimisers")
batchnorm = grader_module("test_batchnorm")
l2 = grader_module("test_l2_penalty")
experiment = grader_module("test_experiment")


def keras_steps(optimizer, params, grads_per_step):
    import keras

    variables = [keras.Variable(p, dtype="float64") for p in params]
    for grads in grads_per_step:
        optimizer.apply([keras.ops.convert_to_tensor(g, dtype="float64") for g in grads], variables)
    return [np.asarray(v) for v in variables]


# Keras turns its hyper-parameters into float32 tensors before casting them to the variables' dtype,
# so 0.9 becomes 0.899999976...: with such values Keras's steps differ from the exact rule by ~1e-5
# of their size. With values that float32 holds exactly, the two agree to float64 precision.
EXACT = 1e-9
ROUNDED = 3e-5
CASES = [
    ("reference_sgd", "SGD", {"lr": 0.0625}, 1.0, EXACT),
    ("reference_sgd", "SGD", {"lr": 0.0625, "momentum": 0.875}, 1.0, EXACT),
    ("reference_sgd", "SGD", {"lr": 0.0625, "momentum": 0.875, "nesterov": True}, 1.0, EXACT),
    ("reference_rmsprop", "RMSprop", {"lr": 2**-6, "rho": 0.75, "epsilon": 2**-7}, 0.0625, EXACT),
    (
        "reference_adam",
        "Adam",
        {"lr": 2**-6, "beta_1": 0.75, "beta_2": 0.875, "epsilon": 2**-7},
        0.0625,
        EXACT,
    ),
    # the settings the graders use
    ("reference_sgd", "SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}, 1.0, ROUNDED),
    ("reference_rmsprop", "RMSprop", {"lr": 0.01}, 1.0, ROUNDED),
    ("reference_rmsprop", "RMSprop", {"lr": 0.02, "rho": 0.7, "epsilon": 1e-2}, 0.05, ROUNDED),
    ("reference_adam", "Adam", {"lr": 0.01}, 1.0, ROUNDED),
    ("reference_adam", "Adam", {"lr": 0.05, "beta_1": 0.5, "beta_2": 0.9}, 1.0, ROUNDED),
    ("reference_adam", "Adam", {"lr": 0.02, "beta_1": 0.8, "beta_2": 0.95, "epsilon": 1e-2}, 0.05, ROUNDED),
]


@pytest.mark.parametrize(("reference", "keras_name", "hyper", "grad_scale", "tolerance"), CASES)
def test_optimiser_references_follow_keras(reference, keras_name, hyper, grad_scale, tolerance):
    import keras

    params, grads = optimisers.problem(0, grad_scale)
    ours = getattr(optimisers, reference)(params, grads, **hyper)
    settings = {("learning_rate" if k == "lr" else k): v for k, v in hyper.items()}
    theirs = keras_steps(getattr(keras.optimizers, keras_name)(**settings), params, grads)
    scale = max(float(np.max(np.abs(b - start))) for b, start in zip(theirs, params))
    for a, b, start in zip(ours, theirs, params):
        np.testing.assert_allclose(a - start, b - start, rtol=0, atol=tolerance * scale)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("x", [batchnorm.X, batchnorm.X3], ids=["2d", "3d"])
def test_batchnorm_forward_reference_follows_keras(training, x):
    import keras

    d = x.shape[-1]
    gamma, beta = batchnorm.GAMMA[:d], batchnorm.BETA[:d]
    mean, var = batchnorm.MOVING_MEAN[:d], batchnorm.MOVING_VAR[:d]
    layer = keras.layers.BatchNormalization(momentum=0.9, epsilon=0.01, dtype="float64")
    layer.build(x.shape)
    for variable, value in (
        (layer.gamma, gamma),
        (layer.beta, beta),
        (layer.moving_mean, mean),
        (layer.moving_variance, var),
    ):
        variable.assign(value)
    keras_y = np.asarray(layer(x, training=training))
    y, new_mean, new_var = batchnorm.reference_forward(x, gamma, beta, mean, var, training, 0.9, 0.01)
    np.testing.assert_allclose(y, keras_y, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(new_mean, np.asarray(layer.moving_mean), rtol=1e-12)
    np.testing.assert_allclose(new_var, np.asarray(layer.moving_variance), rtol=1e-12)


@pytest.mark.parametrize("x", [batchnorm.X, batchnorm.X3], ids=["2d", "3d"])
def test_batchnorm_backward_reference_is_tensorflows_gradient(x):
    import keras
    import tensorflow as tf

    d = x.shape[-1]
    layer = keras.layers.BatchNormalization(epsilon=0.02, dtype="float64")
    layer.build(x.shape)
    layer.gamma.assign(batchnorm.GAMMA[:d])
    layer.beta.assign(batchnorm.BETA[:d])
    dy = np.random.default_rng(0).normal(size=x.shape)
    inputs = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        loss = tf.reduce_sum(layer(inputs, training=True) * dy)
    dx, dgamma, dbeta = tape.gradient(loss, [inputs, layer.gamma.value, layer.beta.value])
    ours = batchnorm.reference_backward(dy, x, batchnorm.GAMMA[:d], epsilon=0.02)
    for a, b in zip(ours, (dx, dgamma, dbeta)):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-8, atol=1e-10)


def test_batchnorm_backward_reference_matches_finite_differences():
    x, gamma, dy = batchnorm.X[:8, :3], batchnorm.GAMMA[:3], batchnorm.DY[:8, :3]
    h = 1e-6

    def loss(values):
        return np.sum(dy * batchnorm.reference_forward(values, gamma, 0.0, 0.0, 1.0, True)[0])

    numeric = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += h
        down[index] -= h
        numeric[index] = (loss(up) - loss(down)) / (2 * h)
    np.testing.assert_allclose(batchnorm.reference_backward(dy, x, gamma)[0], numeric, rtol=1e-5, atol=1e-7)


def test_l2_references_follow_keras():
    import keras
    import tensorflow as tf

    factor = 2**-8  # held exactly in float32 (see the optimisers above)
    weights = [tf.Variable(w) for w in l2.WEIGHTS]
    with tf.GradientTape() as tape:
        penalty = tf.add_n([keras.regularizers.L2(factor)(w) for w in weights])
    grads = tape.gradient(penalty, weights)
    assert np.isclose(l2.reference_penalty(l2.WEIGHTS, factor), float(penalty), rtol=1e-12)
    for ours, theirs in zip(l2.reference_grad(l2.WEIGHTS, factor), grads):
        np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-12)


def notebook_experiment() -> tuple[str, dict, dict, dict]:
    """What the notebook's text sets for its experiment: its name (``EXPERIMENT``), its ``CONFIGS``, each
    budget's numbers (``BUDGET.pick(full=..., ci=...)`` by the name they are given) and ``train_and_log``'s
    defaults."""
    tree = ast.parse(notebooks.text_source("tp2").read_text())
    namespace, picks, defaults = {}, {}, {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "train_and_log":
            named = [a.arg for a in node.args.args][-len(node.args.defaults) :]
            defaults = {
                name: ast.literal_eval(v)
                for name, v in zip(named, node.args.defaults)
                if isinstance(v, ast.Constant)
            }
        if not isinstance(node, ast.Assign):
            continue
        targets = node.targets[0].elts if isinstance(node.targets[0], ast.Tuple) else node.targets
        if [getattr(target, "id", None) for target in targets] in (["EXPERIMENT"], ["BASE"], ["CONFIGS"]):
            exec(compile(ast.Module([node], []), "tp2.nb.py", "exec"), namespace)  # noqa: S102 - the kit's notebook
        values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
        for target, value in zip(targets, values):
            if isinstance(value, ast.Call) and getattr(value.func, "attr", None) == "pick":
                picks[target.id] = {
                    keyword.arg: ast.literal_eval(keyword.value) for keyword in value.keywords
                }
    return namespace["EXPERIMENT"], namespace["CONFIGS"], picks, defaults


def test_the_store_checks_expect_the_notebooks_experiment():
    """Do the checks of the handed-in store expect the runs the notebook makes, on each budget?"""
    name, configs, picks, defaults = notebook_experiment()
    assert experiment.NOTEBOOK_EXPERIMENT == name
    assert experiment.NOTEBOOK_CONFIGS == configs
    assert experiment.NOTEBOOK_RUN == {
        "epochs": picks["EPOCHS"]["full"],
        "train_size": picks["n_train"]["full"],
        "batch_size": defaults["batch_size"],
        "seed": defaults["seed"],
    }
    assert experiment.NOTEBOOK_VALIDATION == picks["n_val"]["full"]
    assert experiment.CI_RUN == {"epochs": picks["EPOCHS"]["ci"], "train_size": picks["n_train"]["ci"]}
