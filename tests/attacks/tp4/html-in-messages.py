"""Raises errors whose messages are HTML that would run in the feedback page and the class report.

proof: &lt;script&gt;alert(2)&lt;/script&gt;
"""

HTML = "<img src=x onerror=alert(1)><script>alert(2)</script><a href='javascript:alert(3)'>x</a>"


def dice_coefficient(y_true, y_pred, smooth=1.0):
    raise ValueError(HTML)


def build_unet(*args, **kwargs):
    raise TypeError(HTML)


raise RuntimeError(HTML)
