# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # TP9 — Doubling
#
# Fill in every cell that says `YOUR CODE HERE` and run the test below it.

# %%
import numpy as np

# %% [markdown]
# ## Exercise 1 — `double` (2 points)
#
# `double(x)` returns `2 * x` as a float64 NumPy array, for a number or an array-like of numbers.
# Anything else (text, say) is refused with a `ValueError` that says what is wrong.


# %% nbgrader={"grade": false, "grade_id": "double", "locked": false, "schema_version": 3, "solution": true, "task": false}
def double(x):
    ### BEGIN SOLUTION
    array = np.asarray(x)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"double takes numbers, not {array.dtype}")
    return 2.0 * array.astype(np.float64)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "double_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert np.allclose(double([1, 2.5]), [2.0, 5.0])
