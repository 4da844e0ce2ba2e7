"""Raises errors whose messages are HTML that would load from outside in the feedback page and the
class report: a beacon image, a style sheet and a frame on the instructor's own machine.

proof: ATTACK-REMOTE-MESSAGE
"""

HTML = (
    'ATTACK-REMOTE-MESSAGE <img src="https://beacon.example/seen.png"> <img src=//beacon.example/x.png>'
    ' <link rel=stylesheet href="http://127.0.0.1:8888/static/x.css">'
    ' <div style="background:url(https://beacon.example/bg.png)">x</div>'
    ' <iframe src="http://127.0.0.1:8888/api/contents"></iframe>'
)


def dice_coefficient(y_true, y_pred, smooth=1.0):
    raise ValueError(HTML)


def build_unet(*args, **kwargs):
    raise TypeError(HTML)


raise RuntimeError(HTML)
