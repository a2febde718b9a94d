"""apply_to_module: a version's tensors copied into a module's parameters, fused ones included."""

import pytest

torch = pytest.importorskip("torch")

from weightpub.engine import GATE_UP, QKV, apply_to_module  # noqa: E402


class Block(torch.nn.Module):
    """vLLM-style packing: q/k/v in one qkv_proj, gate/up in one gate_up_proj."""

    def __init__(self):
        super().__init__()
        self.attn = torch.nn.Module()
        self.attn.qkv_proj = torch.nn.Linear(4, 3 * 4 + 2 * 2, bias=False)
        self.mlp = torch.nn.Module()
        self.mlp.gate_up_proj = torch.nn.Linear(4, 2 * 6, bias=False)
        self.norm = torch.nn.LayerNorm(4)


def _checkpoint(seed):
    g = torch.Generator().manual_seed(seed)
    shapes = {"attn.q_proj.weight": (12, 4), "attn.k_proj.weight": (2, 4), "attn.v_proj.weight": (2, 4),
              "mlp.gate_proj.weight": (6, 4), "mlp.up_proj.weight": (6, 4), "norm.weight": (4,), "norm.bias": (4,)}
    return {name: torch.randn(shape, generator=g) for name, shape in shapes.items()}


def test_fused_and_plain_parameters_get_exactly_the_versions_bytes():
    block, tensors = Block(), _checkpoint(1)
    copied = apply_to_module(block, tensors, fused=(QKV, GATE_UP))
    assert copied == sum(t.numel() * 4 for t in tensors.values())
    qkv = torch.cat([tensors["attn.q_proj.weight"], tensors["attn.k_proj.weight"], tensors["attn.v_proj.weight"]])
    assert torch.equal(block.attn.qkv_proj.weight, qkv)
    assert torch.equal(block.mlp.gate_up_proj.weight,
                       torch.cat([tensors["mlp.gate_proj.weight"], tensors["mlp.up_proj.weight"]]))
    assert torch.equal(block.norm.bias, tensors["norm.bias"])


def test_a_version_missing_a_parameter_or_with_a_wrong_shape_is_refused():
    tensors = _checkpoint(2)
    del tensors["norm.bias"]
    with pytest.raises(KeyError, match="norm.bias"):
        apply_to_module(Block(), tensors, fused=(QKV, GATE_UP))
    tensors = _checkpoint(2)
    tensors["norm.weight"] = torch.zeros(5)
    with pytest.raises(ValueError, match="norm.weight"):
        apply_to_module(Block(), tensors, fused=(QKV, GATE_UP))


def test_a_version_that_does_not_fit_leaves_the_module_as_it_was():
    block = Block()
    before = {k: v.clone() for k, v in block.state_dict().items()}
    tensors = _checkpoint(3)
    del tensors["mlp.up_proj.weight"]
    with pytest.raises(KeyError):
        apply_to_module(block, tensors, fused=(QKV, GATE_UP))
    assert all(torch.equal(before[k], v) for k, v in block.state_dict().items())
