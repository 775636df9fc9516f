"""Every command line: `--help` names every option (and each has a help text), and bad flags
end in one line and exit code 2, without a traceback."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: (command, source file declaring its options)
COMMANDS = [
    (["collect_expert_data.py"], "collect_expert_data.py"),
    (["bc_pokemon_jax.py"], "bc_pokemon_jax.py"),
    (["baselines/bc_pokemon_torch.py"], "baselines/bc_pokemon_torch.py"),
    (["scripts/kill_test.py"], "scripts/kill_test.py"),
    (["scripts/make_screenshots.py"], "scripts/make_screenshots.py"),
    (["benchmarks/compare_bc.py"], "benchmarks/compare_bc.py"),
    (["benchmarks/env_speed.py"], "benchmarks/env_speed.py"),
    (["benchmarks/eval_speed.py"], "benchmarks/eval_speed.py"),
    (["benchmarks/loader_speed.py"], "benchmarks/loader_speed.py"),
    (["benchmarks/train_throughput.py"], "benchmarks/train_throughput.py"),
    (["benchmarks/conv_experiments.py"], "benchmarks/conv_experiments.py"),
    (["-m", "pokeil_jax.convert"], "pokeil_jax/convert.py"),
    (["-m", "pokeil_jax.kernels"], "pokeil_jax/kernels/__main__.py"),
    (["-m", "pokeil_jax.data", "inspect"], "pokeil_jax/data/inspect.py"),
    (["-m", "pokeil_jax.data", "cache"], "pokeil_jax/data/inspect.py"),
    (["-m", "pokeil_jax.data", "export-minari"], "pokeil_jax/data/inspect.py"),
    (["-m", "pokeil_jax.data", "migrate"], "pokeil_jax/data/inspect.py"),
]


def declared_options(source: Path) -> dict[str, bool]:
    """{flag: has a help text} of a tyro `Args` dataclass (field docstrings) or argparse calls."""
    tree = ast.parse(source.read_text())
    options = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "Args":
            body = node.body
            for i, statement in enumerate(body):
                if isinstance(statement, ast.AnnAssign):
                    following = body[i + 1] if i + 1 < len(body) else None
                    documented = isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
                    options["--" + statement.target.id.replace("_", "-")] = documented
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument":
            name = node.args[0].value
            choices = [k.value for k in node.keywords if k.arg == "choices"]
            if not name.startswith("-") and choices and isinstance(choices[0], ast.Tuple):
                name = "{" + ",".join(e.value for e in choices[0].elts) + "}"  # how argparse shows it
            options[name] = any(k.arg == "help" for k in node.keywords)
    return options


@pytest.mark.slow  # 13 interpreters importing jax: ~30 s of CPU
def test_help_of_every_command_names_every_option():
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    runs = [(command, source, subprocess.Popen([sys.executable, *command, "--help"], cwd=REPO, env=env,
                                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
            for command, source in COMMANDS]
    problems = []
    helps: dict[str, str] = {}  # source -> the --help text of every command it defines
    for command, source, proc in runs:
        out, err = proc.communicate(timeout=300)
        if proc.returncode != 0:
            problems.append(f"{' '.join(command)} --help: exit {proc.returncode}: {err[-300:]}")
        helps[source] = helps.get(source, "") + out
    for source, out in helps.items():
        options = declared_options(REPO / source)
        assert options, source
        problems += [f"{source}: --help does not list {flag}" for flag in options if flag not in out]
        problems += [f"{source}: {flag} has no help text" for flag, documented in options.items() if not documented]
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("flags,message", [
    (["--rounds", "-1"], "--rounds must be at least 0, got -1"),
    (["--episodes-per-round", "0"], "--episodes-per-round must be at least 1, got 0"),
    (["--max-delay", "0.5"], "--max-delay must be at least 1"),
])
def test_kill_test_refuses_out_of_range_values_in_one_line_before_any_work(tmp_path, flags, message):
    run = subprocess.run([sys.executable, "scripts/kill_test.py", "--work-dir", str(tmp_path / "work"), *flags],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and run.stderr.startswith(f"error: {message}") and run.stderr.count("\n") == 1, run.stderr
    assert not (tmp_path / "work").exists()  # nothing collected
