#!/usr/bin/env python3
"""parity.py -- an independent PyTorch twin of the Gated PixelCNN in lib/model.c, and the
fixtures that tests/unit/test_parity.c checks the C code against.

    /usr/bin/python3 tests/torch/parity.py        (from anywhere; needs torch and numpy)

The network is rebuilt here from the description in lib/model.c's header comment, with
PyTorch's own convolutions (torch.nn.functional.conv2d on explicitly zero-padded inputs) and
masks derived afresh from the channel-group rule; it shares no code with the C library.
Computation is in float64; the weights and conditioning vectors are first rounded to float32,
so that the C code (float32) runs on exactly the same numbers.

For every case it writes
    tests/fixtures/parity_<case>.pcnn                  the model (pcnn-model(5) safetensors)
    tests/fixtures/parity_<case>.expected.safetensors  x (B,C,H,W) levels as floats,
        h (B,D) when the model is conditional, logits (B,H,W,C*K) (the (B,H,W,C,K) array
        with its last two axes merged: pcnn_st_read takes rank <= 4), nll (B) in nats, and
        grad.<param> = d(sum of nll)/d(param) for every parameter (zero where masked).
Before writing, it asserts that the twin is causal (changing channel c of pixel q moves no
logit of an earlier pixel nor of channels <= c of pixel q, and does move some later logit),
and compares its autograd gradients with central finite differences on a sample of entries.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.normpath(os.path.join(HERE, "..", "fixtures"))

# (a) gray 256 levels, (b) RGB 16 levels with a dense conditioning vector, (c) binary gray,
# class-conditional (one-hot h).
CASES = [
    dict(case="gray", C=1, K=256, L=2, p=8, n=5, H=7, W=7, D=0, classes=0, B=2, seed=101),
    dict(case="rgb", C=3, K=16, L=2, p=6, n=3, H=6, W=5, D=4, classes=0, B=2, seed=202),
    dict(case="class", C=1, K=2, L=2, p=4, n=3, H=5, W=6, D=3, classes=3, B=2, seed=303),
]

DT = torch.float64


# ---- the network ------------------------------------------------------------------------

def group(o, N, R, G):
    """Channel group (0..G-1) of channel o among N channels made of R equal parts, each split
    into G consecutive groups."""
    per = N // R
    return (o % per) // (per // G)


def tap_mask(cout, rout, cin, kw, G, strict):
    """Mask (cout, cin, 1, kw) of a conv whose last tap (the current pixel) lets input group gi
    feed output group go only if gi < go (strict, mask A) or gi <= go (mask B)."""
    m = torch.ones(cout, cin, 1, kw, dtype=DT)
    for o in range(cout):
        go = group(o, cout, rout, G)
        for i in range(cin):
            gi = group(i, cin, 1, G)
            if not (gi < go if strict else gi <= go):
                m[o, i, 0, kw - 1] = 0
    return m


def param_specs(hp):
    """[(name, shape, mask or None)] in the library's order."""
    C, K, L, p, n, D = hp["C"], hp["K"], hp["L"], hp["p"], hp["n"], hp["D"]
    s, G = n // 2, C
    specs = []
    for l in range(L + 1):
        cin = C if l == 0 else p
        pre = "layers.%d." % l
        specs += [
            (pre + "v_conv.weight", (2 * p, cin, s + 1, n), None),
            (pre + "v_conv.bias", (2 * p,), None),
            (pre + "h_conv.weight", (2 * p, cin, 1, s + 1), tap_mask(2 * p, 2, cin, s + 1, G, l == 0)),
            (pre + "h_conv.bias", (2 * p,), None),
            (pre + "v_to_h.weight", (2 * p, 2 * p, 1, 1), None),
            (pre + "h_out.weight", (p, p, 1, 1), tap_mask(p, 1, p, 1, G, False)),
            (pre + "h_out.bias", (p,), None),
        ]
        if D:
            specs += [(pre + "v_cond.weight", (2 * p, D), None),
                      (pre + "h_cond.weight", (2 * p, D), None)]
    specs += [
        ("out1.weight", (p, p, 1, 1), tap_mask(p, 1, p, 1, G, False)),
        ("out1.bias", (p,), None),
        ("out2.weight", (C * K, p, 1, 1), tap_mask(C * K, 1, p, 1, G, False)),
        ("out2.bias", (C * K,), None),
    ]
    return specs


def init_params(hp, gen):
    """Random weights (masked entries zero) and non-zero biases, rounded to float32."""
    params, masks = {}, {}
    for name, shape, mask in param_specs(hp):
        if len(shape) == 1:
            w = torch.rand(shape, generator=gen, dtype=DT) - 0.5
        else:
            fan_in = math.prod(shape[1:])
            w = (2 * torch.rand(shape, generator=gen, dtype=DT) - 1) * 1.5 / math.sqrt(fan_in)
        if mask is not None:
            w = w * mask
        masks[name] = mask
        params[name] = w.float().double().requires_grad_(True)
    return params, masks


def gate(a, p):
    return torch.tanh(a[:, :p]) * torch.sigmoid(a[:, p:])


def forward(hp, params, masks, x, h):
    """logits (B,H,W,C,K) and per-image nll (B) in nats; x (B,C,H,W) int64 levels, h (B,D)."""
    C, K, L, p, n, H, D = hp["C"], hp["K"], hp["L"], hp["p"], hp["n"], hp["H"], hp["D"]
    s = n // 2

    def P(name):
        w = params[name]
        return w * masks[name] if masks[name] is not None else w

    inp = 2 * x.to(DT) / (K - 1) - 1
    vin = hin = inp
    for l in range(L + 1):
        pre = "layers.%d." % l
        if l == 0:
            # rows i-s-1..i-1: s+1 zero rows on top; the conv then yields H+1 rows, drop the last
            va = F.conv2d(F.pad(vin, (s, s, s + 1, 0)), P(pre + "v_conv.weight"), P(pre + "v_conv.bias"))[:, :, :H]
        else:
            # rows i-s..i
            va = F.conv2d(F.pad(vin, (s, s, s, 0)), P(pre + "v_conv.weight"), P(pre + "v_conv.bias"))
        if D:
            va = va + (h @ P(pre + "v_cond.weight").t())[:, :, None, None]
        vout = gate(va, p)
        # cols j-s..j
        ha = F.conv2d(F.pad(hin, (s, 0, 0, 0)), P(pre + "h_conv.weight"), P(pre + "h_conv.bias"))
        ha = ha + F.conv2d(va, P(pre + "v_to_h.weight"))
        if D:
            ha = ha + (h @ P(pre + "h_cond.weight").t())[:, :, None, None]
        hout = F.conv2d(gate(ha, p), P(pre + "h_out.weight"), P(pre + "h_out.bias"))
        if l > 0:
            hout = hout + hin
        vin, hin = vout, hout
    z1 = F.conv2d(F.relu(hin), P("out1.weight"), P("out1.bias"))
    out = F.conv2d(F.relu(z1), P("out2.weight"), P("out2.bias"))  # (B, C*K, H, W)
    B, W = out.shape[0], out.shape[3]
    logits = out.reshape(B, C, K, H, W).permute(0, 3, 4, 1, 2)  # (B,H,W,C,K)
    logp = F.log_softmax(logits, dim=-1)
    target = x.permute(0, 2, 3, 1).unsqueeze(-1)  # (B,H,W,C,1)
    nll = -logp.gather(-1, target).reshape(B, -1).sum(1)
    return logits, nll


# ---- checks -------------------------------------------------------------------------

def check_causal(hp, params, masks, x, h):
    """Changing channel c of pixel q must leave every logit of an earlier pixel and of
    channels <= c of pixel q exactly as it was, and move at least one later logit."""
    C, K, H, W = hp["C"], hp["K"], hp["H"], hp["W"]
    with torch.no_grad():
        x1, h1 = x[:1].clone(), (h[:1] if h is not None else None)
        base, _ = forward(hp, params, masks, x1, h1)
        base = base[0].reshape(H * W, C, K)
        for q in range(H * W):
            i, j = divmod(q, W)
            for c in range(C):
                xp = x1.clone()
                xp[0, c, i, j] = (xp[0, c, i, j] + 1 + (K - 1) // 2) % K
                cur, _ = forward(hp, params, masks, xp, h1)
                diff = (cur[0].reshape(H * W, C, K) - base).abs().amax(-1)  # (H*W, C)
                order = torch.arange(H * W * C).reshape(H * W, C)
                earlier = order <= q * C + c
                leak = diff[earlier].max().item()
                assert leak == 0.0, "%s: change at (q=%d,c=%d) moves an earlier logit by %g" % (hp["case"], q, c, leak)
                if q * C + c < H * W * C - 1:
                    seen = diff[~earlier].max().item()
                    assert seen > 1e-9, "%s: change at (q=%d,c=%d) moves no later logit" % (hp["case"], q, c)


def check_finite_differences(hp, params, masks, x, h, grads, gen, per_param=3, eps=1e-6):
    """Max relative difference between autograd and central differences over a sample of
    unmasked entries of every parameter."""
    worst = 0.0
    with torch.no_grad():
        for name, w in params.items():
            flat = w.view(-1)
            allowed = (masks[name].reshape(-1) != 0).nonzero().view(-1) if masks[name] is not None \
                else torch.arange(flat.numel())
            pick = allowed[torch.randperm(allowed.numel(), generator=gen)[:per_param]]
            for k in pick.tolist():
                old = flat[k].item()
                flat[k] = old + eps
                lp = forward(hp, params, masks, x, h)[1].sum().item()
                flat[k] = old - eps
                lm = forward(hp, params, masks, x, h)[1].sum().item()
                flat[k] = old
                fd = (lp - lm) / (2 * eps)
                ag = grads[name].reshape(-1)[k].item()
                worst = max(worst, abs(fd - ag) / max(1.0, abs(fd), abs(ag)))
    return worst


# ---- safetensors ------------------------------------------------------------------

def write_safetensors(path, tensors, metadata):
    """tensors: [(name, ndarray)] written as F32 little-endian in this order; the header is
    compact JSON, __metadata__ first, padded with spaces to a multiple of 8 bytes."""
    header = {"__metadata__": metadata}
    data = bytearray()
    for name, a in tensors:
        raw = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape),
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + bytes(data))
    os.replace(tmp, path)


def read_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack_from("<Q", buf, 0)
    header = json.loads(buf[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        out[name] = np.frombuffer(buf[8 + n + b:8 + n + end], dtype="<f4").reshape(e["shape"])
    return out, meta


# ---- the cases ----------------------------------------------------------------------

def run_case(hp):
    C, K, H, W, D, B = hp["C"], hp["K"], hp["H"], hp["W"], hp["D"], hp["B"]
    gen = torch.Generator().manual_seed(hp["seed"])
    params, masks = init_params(hp, gen)
    x = torch.randint(0, K, (B, C, H, W), generator=gen, dtype=torch.int64)
    h = None
    if D and hp["classes"]:
        h = F.one_hot(torch.randint(0, D, (B,), generator=gen), D).to(DT)
    elif D:
        h = torch.randn(B, D, generator=gen, dtype=DT).float().double()

    check_causal(hp, params, masks, x, h)

    logits, nll = forward(hp, params, masks, x, h)
    names = list(params)
    gs = torch.autograd.grad(nll.sum(), [params[k] for k in names])
    grads = dict(zip(names, gs))
    for k in names:  # masked entries get no gradient
        if masks[k] is not None:
            assert (grads[k][masks[k] == 0] == 0).all(), k
    fd = check_finite_differences(hp, params, masks, x, h, grads, gen)
    assert fd < 1e-6, "%s: autograd and finite differences differ by %g" % (hp["case"], fd)

    model_meta = {"format": "pcnn-model", "version": "1", "layers": str(hp["L"]),
                  "features": str(hp["p"]), "filter": str(hp["n"]), "channels": str(C),
                  "height": str(H), "width": str(W), "levels": str(K), "cond_size": str(D),
                  "classes": str(hp["classes"])}
    model_path = os.path.join(FIXTURES, "parity_%s.pcnn" % hp["case"])
    write_safetensors(model_path, [(k, params[k].detach().numpy()) for k in names], model_meta)

    exp = [("x", x.numpy().astype(np.float32))]
    if h is not None:
        exp.append(("h", h.numpy()))
    exp += [("logits", logits.detach().reshape(B, H, W, C * K).numpy()),
            ("nll", nll.detach().numpy())]
    exp += [("grad." + k, grads[k].numpy()) for k in names]
    exp_meta = {"format": "pcnn-parity", "case": hp["case"], "generator": "tests/torch/parity.py",
                "logits_layout": "B,H,W,C*K (the (B,H,W,C,K) array, last two axes merged)",
                "loss": "sum over the batch of per-image nll in nats"}
    exp_path = os.path.join(FIXTURES, "parity_%s.expected.safetensors" % hp["case"])
    write_safetensors(exp_path, exp, exp_meta)

    # read back: what the C test will see, within float32 rounding of the float64 truth
    back, meta = read_safetensors(model_path)
    assert meta == model_meta and list(back) == names
    eback, _ = read_safetensors(exp_path)
    f32 = 0.0
    for name, a in exp:
        b = eback[name].astype(np.float64)
        f32 = max(f32, np.linalg.norm(b - a) / max(np.linalg.norm(a), 1e-300))
    size = os.path.getsize(model_path) + os.path.getsize(exp_path)
    print("%-5s C=%d K=%-3d L=%d p=%d n=%d %dx%d D=%d classes=%d B=%d: %d params, nll %s, "
          "autograd vs finite differences max rel diff %.2e, float32 storage rel err %.1e, %d bytes"
          % (hp["case"], C, K, hp["L"], hp["p"], hp["n"], H, W, D, hp["classes"], B,
             sum(p.numel() for p in params.values()),
             " ".join("%.4f" % v for v in nll.tolist()), fd, f32, size))
    return size


def main():
    torch.set_num_threads(1)
    total = sum(run_case(hp) for hp in CASES)
    assert total < 1 << 20, "fixtures are %d bytes, keep them under 1 MiB" % total
    print("wrote %d cases to %s (%d bytes); causality asserted" % (len(CASES), FIXTURES, total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
