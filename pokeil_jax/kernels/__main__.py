"""Build or check the oneDNN kernels: `python -m pokeil_jax.kernels build|check`.

    python -m pokeil_jax.kernels build [--if-stale] [--quiet]   # g++ + oneDNN (the venv's 3.2, else Debian's libdnnl-dev)
    python -m pokeil_jax.kernels check                          # built? loadable? agrees with XLA?
"""

from __future__ import annotations

import argparse
import sys

import jax
import jax.numpy as jnp

from pokeil_jax.kernels import onednn
from pokeil_jax.kernels.xla import conv2d as xla_conv2d


def _check() -> int:
    """Print whether the extension is usable and how far it is from XLA on one layer."""
    reason = onednn.unavailable_reason()
    if reason is not None:
        print(f"oneDNN convolutions: NOT available: {reason}; {onednn.BUILD_HINT}")
        return 1
    keys = jax.random.split(jax.random.key(0), 4)
    x = jax.random.normal(keys[0], (4, 21, 21, 32))
    kernel = jax.random.normal(keys[1], (3, 3, 32, 16)) * 0.1
    bias = jax.random.normal(keys[2], (16,))
    g = jax.random.normal(keys[3], (4, 21, 21, 16))

    def grads(f):
        return jax.jit(jax.grad(lambda *a: jnp.sum(f(*a) * g), argnums=(0, 1, 2)))(x, kernel, bias)

    worst = 0.0
    for ours, theirs in zip((onednn.conv2d(x, kernel, bias), *grads(onednn.conv2d)), (xla_conv2d(x, kernel, bias), *grads(xla_conv2d))):
        worst = max(worst, float(jnp.max(jnp.abs(ours - theirs)) / jnp.max(jnp.abs(theirs))))
    print(f"oneDNN convolutions: available ({onednn.LIBRARY}, {onednn.onednn_install()[0]}); values and gradients vs XLA: "
          f"max relative error {worst:.1e}")
    return 0 if worst < 1e-4 else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pokeil_jax.kernels",
        description="Build or check the oneDNN convolution extension (XLA:CPU custom call).",
    )
    parser.add_argument("command", choices=("build", "check"),
                        help="build: compile csrc/onednn_layers.cc; check: is it usable, does it agree with XLA")
    parser.add_argument("--if-stale", action="store_true",
                        help="build only when the library is missing or older than its source/jaxlib")
    parser.add_argument("--quiet", action="store_true", help="print only errors")
    args = parser.parse_args(argv)
    if args.command == "build":
        if args.if_stale and onednn.is_built():
            return 0
        try:
            built = onednn.build(verbose=not args.quiet)
            print(f"setup: built the oneDNN kernels ({built.name})" if args.quiet else f"built {built}")
        except RuntimeError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        return 0
    return _check()


if __name__ == "__main__":
    sys.exit(main())
