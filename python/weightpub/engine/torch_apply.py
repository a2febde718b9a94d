"""Applying a version to a ``torch.nn.Module`` in place, and keeping forward passes off half-applied weights."""

import contextlib
import threading
from collections import namedtuple

FusedParameter = namedtuple("FusedParameter", "parts fused dim")
"""Checkpoint tensors ``...<part>...`` for each part go, in order, into slices of ``...<fused>...``
along ``dim`` (vLLM packs q/k/v into qkv_proj and gate/up into gate_up_proj)."""

QKV = FusedParameter(("q_proj", "k_proj", "v_proj"), "qkv_proj", 0)
GATE_UP = FusedParameter(("gate_proj", "up_proj"), "gate_up_proj", 0)


def _fused_target(name, rules):
    for rule in rules:
        for index, part in enumerate(rule.parts):
            token = "." + part + "."
            if token in name:
                return rule, index, name.replace(token, "." + rule.fused + ".")
    return None


def copy_tensors(dsts, srcs):
    """Copies each of ``srcs`` into the matching one of ``dsts``: on CUDA in a few multi-tensor kernel
    launches rather than one launch per tensor, which for a model of hundreds of tensors is most of the
    time a copy takes."""
    import torch

    foreach = getattr(torch, "_foreach_copy_", None)
    if foreach is not None and dsts:
        foreach(list(dsts), list(srcs), non_blocking=True)
    else:
        for dst, src in zip(dsts, srcs):
            dst.copy_(src, non_blocking=True)


def apply_to_module(module, tensors, name_map=None, fused=(), strict=True):
    """Copies ``tensors`` (name -> tensor, e.g. from ``torch_tensors``) into ``module``'s parameters
    and buffers in place, under ``torch.no_grad``. ``name_map(name)`` renames a checkpoint name to
    the module's (None: skip the tensor); ``fused`` rules pack parts into fused parameters of the
    module that has them. With ``strict``, a tensor with no target or a shape mismatch raises and
    every module tensor must be written. Returns the number of bytes copied."""
    import torch

    targets = dict(module.named_parameters())
    targets.update(dict(module.named_buffers()))
    written = set()
    fused_parts = {}
    copied = 0
    dsts, srcs = [], []
    with torch.no_grad():
        for name, src in tensors.items():
            target = name_map(name) if name_map else name
            if target is None:
                continue
            if target not in targets and fused:
                hit = _fused_target(target, fused)
                if hit is not None and hit[2] in targets:
                    rule, index, fused_name = hit
                    fused_parts.setdefault((fused_name, rule), {})[index] = src
                    continue
            dst = targets.get(target)
            if dst is None:
                if strict:
                    raise KeyError("tensor %s (as %s) has no parameter or buffer in the module" % (name, target))
                continue
            if tuple(dst.shape) != tuple(src.shape):
                raise ValueError("tensor %s has shape %s, parameter %s %s" % (name, tuple(src.shape), target,
                                                                            tuple(dst.shape)))
            dsts.append(dst)
            srcs.append(src)
            written.add(target)
            copied += src.numel() * src.element_size()
        for (fused_name, rule), parts in fused_parts.items():
            if sorted(parts) != list(range(len(rule.parts))):
                raise KeyError("fused parameter %s needs parts %s, got %s" % (fused_name, rule.parts,
                                                                          [rule.parts[i] for i in sorted(parts)]))
            dst = targets[fused_name]
            start = 0
            for index in range(len(rule.parts)):
                src = parts[index]
                width = src.shape[rule.dim]
                dsts.append(dst.narrow(rule.dim, start, width))
                srcs.append(src)
                start += width
                copied += src.numel() * src.element_size()
            if start != dst.shape[rule.dim]:
                raise ValueError("fused parameter %s is %d wide along dim %d, its parts %d"
                                 % (fused_name, dst.shape[rule.dim], rule.dim, start))
            written.add(fused_name)
        if strict:
            missing = sorted(set(dict(module.named_parameters())) - written)
            if missing:
                raise KeyError("the version has no tensor for parameters %s" % missing[:8])
        # Only now, every tensor checked: a version that does not fit leaves the module as it was.
        copy_tensors(dsts, srcs)
    if any(t.is_cuda for t in targets.values()):
        torch.cuda.synchronize()
    return copied


class WeightGate:
    """Forward passes and weight updates take turns: a forward pass runs on one whole version and
    knows which one (``with gate.forward() as version: ...``), an update waits for the passes in
    flight and holds new ones off until it is done (``gate.update(version_number, fn)``)."""

    def __init__(self, version=None):
        self.version = version
        self._cond = threading.Condition()
        self._readers = 0
        self._updating = False

    @contextlib.contextmanager
    def forward(self):
        with self._cond:
            while self._updating:
                self._cond.wait()
            self._readers += 1
            version = self.version
        try:
            yield version
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    def update(self, version, fn):
        with self._cond:
            while self._updating:
                self._cond.wait()
            self._updating = True
            while self._readers:
                self._cond.wait()
        try:
            result = fn()
            self.version = version
            return result
        finally:
            with self._cond:
                self._updating = False
                self._cond.notify_all()
