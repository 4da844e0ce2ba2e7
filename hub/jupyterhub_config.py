"""JupyterHub's settings for the course: `tpdl hub up` (make hub) copies this file beside the
hub.json it writes, and starts JupyterHub with both (see tpdl/classroom/hub.py).

Logins are the machine's own accounts (PAM), for the roster's people only; each person's server
runs as their account (LocalProcessSpawner), from the hub's one environment. A student's server
opens JupyterLab in their home, with nbgrader's Assignment List and Validate and the course's
exchange; the instructor's opens the course, with formgrader, and imports the whole kit from it.
"""

import json
import os

c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file

with open(os.environ["TPDL_HUB_SETTINGS"], encoding="utf-8") as handle:
    hub = json.load(handle)

c.JupyterHub.bind_url = f"http://{hub['ip']}:{hub['port']}"
# Each user's server on a host of its own (<user>.<host>): a page a student's server serves cannot
# act in the browser of whoever opens it, as it could on the hub's own origin.
c.JupyterHub.subdomain_host = f"http://{hub['host']}:{hub['port']}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{hub['hub_port']}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{hub['proxy_api_port']}"
c.ConfigurableHTTPProxy.command = [hub["proxy"]]
c.JupyterHub.db_url = f"sqlite:///{hub['state']}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{hub['state']}/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = f"{hub['state']}/jupyterhub.pid"

# The machine's accounts, through PAM; only the roster's people may log in.
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = {hub["instructor"], *hub["students"]}
c.PAMAuthenticator.open_sessions = False

c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [f"{hub['env']}/bin/jupyterhub-singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120


def per_role(spawner):
    """A student's server: their home, the students' settings. The instructor's: the course, the
    instructor's settings (formgrader), the whole kit on the import path and as `tpdl`."""
    role = "instructor" if spawner.user.name == hub["instructor"] else "student"
    path = f"{hub['env']}/bin:/usr/local/bin:/usr/bin:/bin"
    environment = {"JUPYTER_CONFIG_PATH": hub["config"][role], "PATH": path}
    if hub.get("data_dir"):
        environment["TPDL_DATA_DIR"] = hub["data_dir"]
    if role == "instructor":
        environment["PYTHONPATH"] = hub["course"]
        # Python puts no working folder on the import path: a kernel the instructor starts on a student's
        # notebook (in submitted/) never imports a module the student handed in beside it.
        environment["PYTHONSAFEPATH"] = "1"
        environment["PATH"] = f"{hub['root']}/instructor-bin:{path}"
        spawner.notebook_dir = hub["course"]
    spawner.environment.update(environment)


c.Spawner.pre_spawn_hook = per_role
