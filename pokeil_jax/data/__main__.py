"""`python -m pokeil_jax.data inspect|cache|export-minari|migrate ...` (`--help` for each)."""

import sys

from pokeil_jax.data.inspect import main

if __name__ == "__main__":
    sys.exit(main())
