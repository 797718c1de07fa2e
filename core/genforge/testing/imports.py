"""Does a plugin's entry module load without heavy imports? Checked in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points

from genforge.plugins import GROUP, PluginRecord

#: Modules an entry module must not import (they belong where a model is built).
HEAVY = ("torch", "onnx", "onnxruntime", "tensorflow", "jax")

#: Runs in the child: a meta-path probe notes who first imports a heavy module, then the
#: plugin is loaded and its registration hooks run, as ``genforge plugins`` would.
PROBE = r"""
import json, sys, traceback
HEAVY = set(json.loads(sys.argv[2]))
seen = []

class Probe:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HEAVY and not seen:
            frames = [f for f in traceback.extract_stack()[:-1]
                      if not f.filename.startswith("<") and "importlib" not in f.filename
                      and "/pluggy/" not in f.filename and "genforge/plugins.py" not in f.filename]
            seen.append({"module": name,
                         "frames": [[f.filename, f.lineno, (f.line or "").strip()] for f in frames]})
        return None

sys.meta_path.insert(0, Probe())
from genforge.plugins import Plugins
plugins = Plugins(load=[sys.argv[1]], strict=False)
plugins.registries  # the registration hooks run when the registries are first used
registered = next((r.registered for r in plugins.records if r.name == sys.argv[1]), {})
errors = [r.error for r in plugins.records if r.error]
print(json.dumps({"heavy": seen[0] if seen else None, "registered": registered, "errors": errors}))
"""


def entry_point_value(record: PluginRecord) -> str | None:
    """The ``module`` an installed plugin's entry point names, or None for in-process plugins."""
    for ep in entry_points(group=GROUP, name=record.name):
        if ep.dist is not None and ep.dist.name == record.dist:
            return ep.value
    return None


def probe_entry_point(record: PluginRecord, timeout: float = 120.0) -> dict:
    """Load one plugin in a fresh interpreter; report the first heavy import and what registered."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    env.pop("GENFORGE_LOAD_PLUGINS", None)
    env.pop("GENFORGE_STRICT_PLUGINS", None)
    out = subprocess.run([sys.executable, "-c", PROBE, record.name, json.dumps(HEAVY)],
                         capture_output=True, text=True, env=env, timeout=timeout)
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"loading the plugin in a fresh interpreter failed: {last}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def describe_heavy(found: dict) -> str:
    """``torch (imported by my_plugin/plugin.py:3 `import torch`)`` from a probe result."""
    frames = found["frames"]
    where = ""
    if frames:
        path, line, code = frames[-1]
        chain = " <- ".join(f"{os.path.basename(p)}:{n}" for p, n, _ in reversed(frames[:-1][-3:]))
        where = f" by {path}:{line} `{code}`" + (f" (reached from {chain})" if chain else "")
    return f"{found['module']} was imported{where}"
