"""Training passes of the GAN's multilayer perceptrons with the chain rule written out.

For networks this small, autograd's bookkeeping (recording the graph, allocating every
intermediate, accumulating gradients) takes about as long on a CPU as the matrix products.
``MLPPass`` runs the same layers with the same kernels autograd would call
(``native_batch_norm`` and its backward, ``leaky_relu_backward``, ``tanh_backward``) and
keeps only what the backward pass needs. ``tests/test_train_steps.py`` checks its gradients
against autograd's.
"""

from __future__ import annotations

import torch
from torch import nn

LAYERS = (nn.Linear, nn.BatchNorm1d, nn.LeakyReLU, nn.Tanh)


class MLPPass:
    """Forward and backward of a ``Generator`` or ``Discriminator`` (``genlab.models.gan``).

    ``forward`` keeps each layer's input or output; ``backward`` writes the parameters'
    gradients into their ``.grad`` (overwriting) and returns the gradient of the input
    columns asked for. The label embedding of a conditional model is part of the input.
    """

    def __init__(self, model: nn.Module):
        self.layers = list(model.net)
        for layer in self.layers:
            if not isinstance(layer, LAYERS):
                raise TypeError(f"MLPPass cannot run a {type(layer).__name__} layer; "
                                f"it knows {', '.join(t.__name__ for t in LAYERS)}")  # fmt: skip
        if not isinstance(self.layers[0], nn.Linear):
            kind = type(self.layers[0]).__name__
            raise TypeError(f"MLPPass needs a Linear first layer, not a {kind}")
        self.embedding: nn.Embedding | None = model.condition.embedding
        for p in model.parameters():
            p.grad = torch.zeros_like(p)
        self._saved: list[tuple[torch.Tensor, ...]] = []
        self._labels: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The model's output for ``x`` (N, features), in training mode, without a graph."""
        with torch.no_grad():
            if self.embedding is not None:
                x = torch.cat([x, self.embedding.weight.index_select(0, labels)], dim=1)
            self._labels, saved = labels, []
            for layer in self.layers:
                if isinstance(layer, nn.Linear):
                    saved.append((x,))
                    x = torch.addmm(layer.bias, x, layer.weight.t())
                elif isinstance(layer, nn.BatchNorm1d):
                    y, mean, invstd = torch.ops.aten.native_batch_norm(
                        x, layer.weight, layer.bias, layer.running_mean, layer.running_var,
                        True, layer.momentum, layer.eps,
                    )  # fmt: skip
                    layer.num_batches_tracked.add_(1)  # as BatchNorm1d.forward does
                    saved.append((x, mean, invstd))
                    x = y
                elif isinstance(layer, nn.LeakyReLU):
                    x = torch.nn.functional.leaky_relu_(x, layer.negative_slope)
                    saved.append((x,))
                else:  # Tanh
                    x = torch.tanh_(x)
                    saved.append((x,))
            self._saved = saved
            return x

    def backward(
        self,
        grad: torch.Tensor,
        weights: bool = True,
        input_columns: slice | None = None,
        rows: slice | None = None,
    ) -> torch.Tensor | None:
        """Back-propagate ``grad`` (d loss / d output) through the last ``forward``.

        ``weights``: write the parameters' gradients (else leave them as they are); with a
        label embedding, its gradient too. ``input_columns``: return d loss / d input for
        these columns of the input (the image part, to train a generator through this
        discriminator); ``None``: return nothing. ``rows``: ``grad`` is for these rows of the
        batch only (the others' gradient is zero; not with batch norm, which mixes rows).
        """
        if rows is not None and any(isinstance(layer, nn.BatchNorm1d) for layer in self.layers):
            raise ValueError("rows cannot be chosen through batch norm: it mixes the rows")
        first = self.layers[0]
        with torch.no_grad():
            for layer, saved in zip(reversed(self.layers), reversed(self._saved), strict=True):
                if rows is not None:
                    saved = tuple(t[rows] for t in saved)
                if isinstance(layer, nn.Linear):
                    if weights:
                        torch.mm(grad.t(), saved[0], out=layer.weight.grad)
                        torch.sum(grad, 0, out=layer.bias.grad)
                    if layer is first:
                        break
                    grad = grad @ layer.weight
                elif isinstance(layer, nn.BatchNorm1d):
                    x, mean, invstd = saved
                    grad, grad_weight, grad_bias = torch.ops.aten.native_batch_norm_backward(
                        grad, x, layer.weight, layer.running_mean, layer.running_var,
                        mean, invstd, True, layer.eps, [True, weights, weights],
                    )  # fmt: skip
                    if weights:
                        layer.weight.grad.copy_(grad_weight)
                        layer.bias.grad.copy_(grad_bias)
                elif isinstance(layer, nn.LeakyReLU):
                    slope = layer.negative_slope
                    grad = torch.ops.aten.leaky_relu_backward(grad, saved[0], slope, True)
                else:  # Tanh
                    grad = torch.ops.aten.tanh_backward(grad, saved[0])
            # grad is now d loss / d (first layer's output); the input is [image | embedding]
            if weights and self.embedding is not None:
                width = self.embedding.embedding_dim
                labels = self._labels if rows is None else self._labels[rows]
                embedding_grad = self.embedding.weight.grad.zero_()
                embedding_grad.index_add_(0, labels, grad @ first.weight[:, -width:])
            return None if input_columns is None else grad @ first.weight[:, input_columns]
