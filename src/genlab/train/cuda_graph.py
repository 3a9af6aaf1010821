"""The whole training step (forward, backward, optimizer) replayed as one CUDA graph.

On a GPU these networks are small enough that a step is bound by kernel launches, not by
arithmetic: capturing the step once and replaying it removes the launches' cost. The step
itself is the ordinary autograd code; ``torch.cuda.graph`` records the kernels it runs.

How it goes (the recipe of PyTorch's "whole network capture"):

1. the first ``WARMUP`` calls run the step eagerly on a side stream. They are real training
   steps; they also create the optimizers' state, which must exist before capture;
2. the next call captures the step on static input buffers, then replays it once;
3. every later call copies its input into those buffers and replays the graph.

The step must call ``optimizer.zero_grad(set_to_none=True)`` before its ``backward()`` so
that capture allocates the gradients in the graph's own memory, and its optimizers must be
built with ``capturable=True``. Random numbers drawn inside the step (noise, dropout,
reparameterisation) are fresh at every replay: PyTorch advances the generator's offset.

Only inputs of the captured shape replay the graph. Any other shape (the epoch's smaller last
batch) runs eagerly: one eager step per epoch costs less than a second capture.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from genlab.device import DeviceError

WARMUP = 2

Step = Callable[[torch.Tensor], torch.Tensor]


class CUDAGraphStep:
    """Calls ``step(index)`` like the function itself, replaying a captured graph on CUDA."""

    def __init__(self, step: Step):
        self.step = step
        self.calls = 0
        self.graph: torch.cuda.CUDAGraph | None = None
        self.static_input: torch.Tensor | None = None
        self.static_output: torch.Tensor | None = None

    def __call__(self, index: torch.Tensor) -> torch.Tensor:
        if self.graph is not None:
            if index.shape != self.static_input.shape:
                return self.step(index)
            self.static_input.copy_(index)
            self.graph.replay()
            return self.static_output
        self.calls += 1
        if self.calls <= WARMUP:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                output = self.step(index)
            torch.cuda.current_stream().wait_stream(side)
            return output
        self.static_input = index.clone()
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.static_output = self.step(self.static_input)
        self.graph.replay()  # capture only records: this replay is the step of this batch
        return self.static_output


def use_cuda_graph(setting: str, device: torch.device) -> bool:
    """Whether ``setting`` ("auto" | "on" | "off") captures the step on ``device``."""
    if setting == "on" and device.type != "cuda":
        raise DeviceError(
            f"cuda_graph='on' needs a CUDA device, but training runs on {device.type}; "
            "accepted here: auto, off"
        )
    return device.type == "cuda" and setting != "off"


def wrap(step: Step, setting: str, device: torch.device) -> Step:
    """``step`` itself, or a ``CUDAGraphStep`` of it where ``setting`` asks for one."""
    return CUDAGraphStep(step) if use_cuda_graph(setting, device) else step


def adam(params, device: torch.device, graphed: bool, **kwargs) -> torch.optim.Adam:
    """``torch.optim.Adam``, fused where the device supports it, capturable for a CUDA graph."""
    fused = device.type in ("cuda", "cpu")
    return torch.optim.Adam(params, fused=fused, capturable=graphed, **kwargs)
