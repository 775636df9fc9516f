#!/usr/bin/env bash
# Installs what pokeil-jax needs and is a no-op when it is all there.
#   scripts/setup.sh            runtime: libmgba0.10 (Debian), .venv with requirements.txt + dev tools,
#                               and the oneDNN CPU kernels (g++, libdnnl-dev, requirements-kernels.txt;
#                               pokeil_jax/kernels/onednn.py)
#   scripts/setup.sh baseline   also PyTorch for the baseline (requirements-baseline.txt)
#   scripts/setup.sh extras     also Minari and Weights & Biases (requirements-extras.txt)
#   scripts/setup.sh toolchain  also the ARM cross-compiler, to rebuild the bundled ROM
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "setup: installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

if ! command -v dpkg >/dev/null; then
  echo "setup: not a Debian/Ubuntu system; install mGBA 0.10 (libmgba) yourself, then re-run." >&2
else
  apt_install libmgba0.10
  # Optional: the oneDNN convolution/max-pool kernels for XLA:CPU (2x faster training on CPU).
  apt_install g++ libdnnl-dev || echo "setup: could not install g++/libdnnl-dev; training uses XLA's own kernels" >&2
  case " $* " in *" toolchain "*) apt_install gcc-arm-none-eabi binutils-arm-none-eabi make ;; esac
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating virtual environment $VENV"
  "$PYTHON" -m venv "$VENV"
fi

install_reqs() {  # install a requirements file once per content hash
  local file=$1 stamp="$VENV/.installed-$(basename "$1")"
  local want; want=$(sha1sum "$file" | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: pip install -r $file"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$file"
    echo "$want" > "$stamp"
  fi
}
install_reqs requirements.txt
install_reqs requirements-dev.txt
install_reqs requirements-kernels.txt \
  || echo "setup: could not install oneDNN 3.2 from PyPI; the kernels build against the system's oneDNN" >&2
# The package itself, editable, so `import pokeil_jax` works from any folder.
if ! "$VENV/bin/python" -c "import pokeil_jax, sys; sys.exit(0 if pokeil_jax.__file__.startswith('$PWD/') else 1)" 2>/dev/null \
   || [ ! -f "$VENV/.installed-package" ]; then
  echo "setup: pip install -e . (pokeil_jax)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e . && touch "$VENV/.installed-package"
fi
for extra in "$@"; do
  case "$extra" in
    baseline) install_reqs requirements-baseline.txt ;;
    extras) install_reqs requirements-extras.txt ;;
  esac
done
# Build the oneDNN kernels when missing or stale (a few seconds); without them everything still
# runs, on XLA's own kernels.
"$VENV/bin/python" -m pokeil_jax.kernels build --if-stale --quiet \
  || echo "setup: oneDNN kernels not built (see above); training falls back to XLA's kernels" >&2
