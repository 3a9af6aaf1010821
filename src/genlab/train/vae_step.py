"""One VAE training step with its gradient written out by hand, for speed.

Autograd records a graph and allocates every intermediate on each of the ~470 steps of an
epoch; for a network this small that bookkeeping costs as much as the matrix products. This
step computes the same loss and the same gradients (``tests/test_vae.py`` checks them against
autograd) with the chain rule spelled out, into buffers allocated once per batch size.

Notation: x (n, 784) images; h1 = relu(fc1 x); mu, logvar = fc21 h1, fc22 h1 (one product
with the two heads' weights stacked); z = mu + eps * std; h3 = relu(fc3 z); l = fc4 h3 logits.
Loss = sum(softplus(l) - x * l) [the BCE from logits] - 1/2 sum(1 + logvar - mu^2 - e^logvar).
"""

from __future__ import annotations

import torch

from genlab.models.vae import VAE


class VAEStep:
    """Fills ``model``'s ``.grad`` tensors with the gradient of the summed loss of a batch."""

    def __init__(self, model: VAE):
        self.model = model
        self._n = -1
        for p in model.parameters():  # gradients live in fixed buffers, overwritten each step
            p.grad = torch.zeros_like(p)
        # the two heads' gradients as one (2 * latent, hidden) matrix, viewed by each head
        m, latent = model, model.latent_dim
        self._g_heads = torch.cat([m.fc21.weight.grad, m.fc22.weight.grad])
        self._gb_heads = torch.cat([m.fc21.bias.grad, m.fc22.bias.grad])
        m.fc21.weight.grad, m.fc22.weight.grad = self._g_heads[:latent], self._g_heads[latent:]
        m.fc21.bias.grad, m.fc22.bias.grad = self._gb_heads[:latent], self._gb_heads[latent:]

    def _buffers(self, n: int, like: torch.Tensor) -> None:
        if n == self._n:
            return
        m, new = self.model, lambda *shape: like.new_empty(shape)
        hidden, latent, pixels = m.fc1.out_features, m.latent_dim, m.image_size
        self.h1, self.heads, self.z = new(n, hidden), new(n, 2 * latent), new(n, latent)
        self.h3, self.logits, self.d_logits = new(n, hidden), new(n, pixels), new(n, pixels)
        self.d_h3, self.d_heads, self.d_h1 = new(n, hidden), new(n, 2 * latent), new(n, hidden)
        self._n = n

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Loss of batch ``x`` (n, 784), summed over pixels and images, as a 0-d tensor."""
        m, n = self.model, len(x)
        self._buffers(n, x)
        latent = m.latent_dim
        w_heads = torch.cat([m.fc21.weight, m.fc22.weight])
        b_heads = torch.cat([m.fc21.bias, m.fc22.bias])

        # forward
        torch.addmm(m.fc1.bias, x, m.fc1.weight.t(), out=self.h1).relu_()
        torch.addmm(b_heads, self.h1, w_heads.t(), out=self.heads)
        mu, logvar = self.heads[:, :latent], self.heads[:, latent:]
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)  # the draw the module's reparameterize() makes
        torch.addcmul(mu, eps, std, out=self.z)
        torch.addmm(m.fc3.bias, self.z, m.fc3.weight.t(), out=self.h3).relu_()
        logits = torch.addmm(m.fc4.bias, self.h3, m.fc4.weight.t(), out=self.logits)
        variance = std * std
        kld = -0.5 * (n * latent + logvar.sum() - mu.pow(2).sum() - variance.sum())
        # BCE from logits = softplus(l) - x l, with softplus(l) = max(l, 0) - log max(s, 1 - s)
        # for s = sigmoid(l): exact in float32 to within 6e-8 per pixel, and s is reused below
        s = torch.sigmoid(logits, out=self.d_logits)
        softplus = logits.clamp(min=0).sum() - torch.maximum(s, 1 - s).log_().sum()
        bce = softplus - torch.dot(x.reshape(-1), logits.reshape(-1))

        # backward: d loss / d logits = sigmoid(l) - x
        d_logits = s.sub_(x)
        torch.mm(d_logits.t(), self.h3, out=m.fc4.weight.grad)
        torch.sum(d_logits, 0, out=m.fc4.bias.grad)
        d_h3 = _relu_backward(torch.mm(d_logits, m.fc4.weight, out=self.d_h3), self.h3)
        torch.mm(d_h3.t(), self.z, out=m.fc3.weight.grad)
        torch.sum(d_h3, 0, out=m.fc3.bias.grad)
        d_z = d_h3 @ m.fc3.weight
        # mu: through z, plus the KL's mu; logvar: through std = e^(logvar/2), plus the KL's
        torch.add(d_z, mu, out=self.d_heads[:, :latent])
        torch.addcmul(0.5 * (variance - 1), d_z * eps, 0.5 * std, out=self.d_heads[:, latent:])
        torch.mm(self.d_heads.t(), self.h1, out=self._g_heads)
        torch.sum(self.d_heads, 0, out=self._gb_heads)
        d_h1 = _relu_backward(torch.mm(self.d_heads, w_heads, out=self.d_h1), self.h1)
        torch.mm(d_h1.t(), x, out=m.fc1.weight.grad)
        torch.sum(d_h1, 0, out=m.fc1.bias.grad)
        return bce + kld


def _relu_backward(grad: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    """``grad`` zeroed where the ReLU's ``output`` is 0, in place (autograd's own kernel)."""
    return torch.ops.aten.threshold_backward.grad_input(grad, output, 0.0, grad_input=grad)
