# %% [markdown]
# A tiny assignment for testing nbgrader's configuration.

# %% nbgrader={"grade": false, "grade_id": "answer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def answer():
    ### BEGIN SOLUTION
    return 42
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "visible_tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import sys

print("I0000 cpu_feature_guard.cc:227] This TensorFlow binary is optimized", file=sys.stderr)
assert answer() == 42

# %% nbgrader={"grade": true, "grade_id": "hidden_tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
assert answer() == 42
### BEGIN HIDDEN TESTS
SECRET_EXPECTED_VALUE = 43
assert answer() == SECRET_EXPECTED_VALUE, "hidden check"
### END HIDDEN TESTS
