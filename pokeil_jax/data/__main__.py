"""`python -m pokeil_jax.data inspect DIR` / `python -m pokeil_jax.data cache DIR`."""

import sys

from pokeil_jax.data.inspect import main

if __name__ == "__main__":
    sys.exit(main())
