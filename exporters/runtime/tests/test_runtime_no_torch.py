"""The runtime never needs torch or genforge: checked in a subprocess and in the source."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import genforge_runtime

ALLOWED = {"numpy", "onnxruntime", "PIL", "genforge_runtime", "__future__"}


def test_samples_with_torch_and_genforge_unimportable(toy, tmp_path):
    code = (
        "import sys\n"
        "sys.modules['torch'] = None\n"
        "sys.modules['genforge'] = None\n"
        "import genforge_runtime\n"
        "from genforge_runtime.cli import main\n"
        f"s = genforge_runtime.load({str(toy)!r})\n"
        "x = s.sample(8, labels=1, seed=0)\n"
        "assert x.shape == (8, 1, 2, 2), x.shape\n"
        f"assert main([{str(toy)!r}, '-n', '4', '--out', {str(tmp_path / 'g.png')!r}]) == 0\n"
        "loaded = [m for m, v in sys.modules.items() if v is not None]\n"
        "assert not [m for m in loaded if m.split('.')[0] in ('torch', 'genforge')], loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert (tmp_path / "g.png").is_file()


def test_the_source_imports_only_numpy_onnxruntime_pillow_and_stdlib():
    for path in Path(genforge_runtime.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                top = name.split(".")[0]
                assert top in ALLOWED or top in sys.stdlib_module_names, f"{path.name} imports {name}"
