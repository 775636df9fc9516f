"""Reference implementations the JAX pipeline is measured against (PyTorch)."""
