"""The behavioral-cloning loss and accuracy, defined once.

Each function takes the array namespace `xp`: `jax.numpy` (None, the default) for the jitted
train and eval steps, `numpy` for judging any framework's logits on the host
(`evaluate.demo_metrics`). Same formula either way: cross-entropy is the log-sum-exp of the
logits (computed from the max-shifted ones; the max is a constant to the gradient) minus the
expert action's logit. Importing this module does not import JAX.
"""

from __future__ import annotations


def _namespace(xp):
    if xp is None:
        import jax.numpy as jnp

        return jnp
    return xp


def cross_entropy(logits, actions, xp=None):
    """Per-example cross-entropy of float (B, A) logits against int (B,) expert actions: (B,)."""
    xp = _namespace(xp)
    top = xp.max(logits, axis=-1, keepdims=True)
    if xp.__name__.startswith("jax"):
        import jax

        top = jax.lax.stop_gradient(top)
    log_normalizer = xp.log(xp.sum(xp.exp(logits - top), axis=-1)) + top[..., 0]
    return log_normalizer - xp.take_along_axis(logits, actions[..., None], axis=-1)[..., 0]


def correct(logits, actions, xp=None):
    """Per-example bool (B,): the argmax action is the expert's."""
    return _namespace(xp).argmax(logits, axis=-1) == actions


def bc_loss(logits, actions, xp=None):
    """Mean cross-entropy of float (B, A) logits against int (B,) expert actions; a scalar."""
    return cross_entropy(logits, actions, xp).mean()


def accuracy(logits, actions, xp=None):
    """Fraction of the batch whose argmax action equals the expert's; a float32 scalar."""
    xp = _namespace(xp)
    return xp.mean(correct(logits, actions, xp)).astype(xp.float32)


def bc_metrics(logits, actions, xp=None) -> dict:
    """{"loss": bc_loss, "accuracy": accuracy} of one batch."""
    return {"loss": bc_loss(logits, actions, xp), "accuracy": accuracy(logits, actions, xp)}
