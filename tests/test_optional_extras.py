"""minari and wandb (requirements-extras.txt) stay off the core path: importing pokeil_jax, the
data commands and the training script never import them, and without them the commands that
need them say what to install in one line."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Importing a module whose sys.modules entry is None raises ImportError: as if not installed.
BLOCK_EXTRAS = "import sys; sys.modules.update(wandb=None, minari=None, h5py=None)\n"


def run_python(code: str, *argv):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code, *map(str, argv)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def test_core_imports_and_inspect_never_import_minari_or_wandb(synthetic_demos):
    code = (
        "import sys\n"
        "import pokeil_jax, pokeil_jax.data, pokeil_jax.tracking, bc_pokemon_jax, collect_expert_data\n"
        "from pokeil_jax import data\n"
        "assert data.main(['inspect', sys.argv[1], '--plot', sys.argv[2]]) == 0\n"
        "print(sorted(m for m in ('minari', 'wandb', 'h5py') if m in sys.modules))\n"
    )
    out = run_python(code, synthetic_demos, synthetic_demos.parent / "hist.png")
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_export_without_minari_says_what_to_install(synthetic_demos):
    code = BLOCK_EXTRAS + "from pokeil_jax import data; sys.exit(data.main(sys.argv[1:]))"
    out = run_python(code, "export-minari", synthetic_demos, "--dataset-id", "pokeil/minimon/expert-v0")
    assert out.returncode == 1
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert "minari" in out.stderr and "requirements-extras.txt" in out.stderr
