"""Adam with the fused kernel called directly: the same update as ``torch.optim.Adam``.

``torch.optim.Adam(fused=True).step()`` spends about as long in Python (grouping tensors by
device, converting scalars) as its kernel takes to update a few hundred thousand weights on
a CPU. For one group of dense float32 parameters on one device, ``LeanAdam.step`` calls the
same kernel that ``torch.optim.adam._fused_adam`` calls, with the same arguments, so the
weights and the state come out bit-identical (``tests/test_train_steps.py``); the parameters'
step counters (always equal here) are one shared tensor, incremented once. Its state dict
is ``torch.optim.Adam``'s: checkpoints load into either.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


class LeanAdam(torch.optim.Adam):
    """``torch.optim.Adam(params, lr, betas, fused=True)`` with a lean ``step``."""

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float, betas: tuple[float, float]):
        params = list(params)
        devices = {p.device.type for p in params}
        fused = devices <= {"cpu", "cuda"}
        super().__init__(params, lr=lr, betas=betas, fused=fused)
        self._lean = (
            fused
            and len({p.device for p in params}) == 1
            and all(p.dtype == torch.float32 for p in params)
        )

    @torch.no_grad()
    def step(self, closure: None = None) -> None:  # type: ignore[override]
        group = self.param_groups[0]
        params = group["params"]
        if not self._lean or len(self.state) < len(params) or any(p.grad is None for p in params):
            self._separate_step_counters()
            super().step()  # the first step creates the state; unusual cases go the long way
            return
        states = [self.state[p] for p in params]
        step = states[0]["step"]
        if any(s["step"] is not step for s in states):  # first lean step, or after a load
            if any(not torch.equal(s["step"], step) for s in states):
                super().step()  # parameters updated different numbers of times
                return
            step = step.clone()
            for s in states:  # one step counter for all, incremented once
                s["step"] = step
        step.add_(1)
        beta1, beta2 = group["betas"]
        torch._fused_adam_(
            params,
            [p.grad for p in params],
            [s["exp_avg"] for s in states],
            [s["exp_avg_sq"] for s in states],
            [],
            [step] * len(params),
            amsgrad=False,
            lr=group["lr"],
            beta1=beta1,
            beta2=beta2,
            weight_decay=group["weight_decay"],
            eps=group["eps"],
            maximize=False,
            grad_scale=None,
            found_inf=None,
        )

    def state_dict(self) -> dict:
        """``torch.optim.Adam``'s state dict: one step counter tensor per parameter."""
        state = super().state_dict()
        state["state"] = {k: {**v, "step": v["step"].clone()} if "step" in v else v
                          for k, v in state["state"].items()}  # fmt: skip
        return state

    def _separate_step_counters(self) -> None:
        """Undo the shared counter: ``torch.optim.Adam.step`` increments each one."""
        for state in self.state.values():
            if "step" in state:
                state["step"] = state["step"].clone()
