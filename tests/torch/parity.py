#!/usr/bin/env python3
"""parity.py -- an independent PyTorch twin of the Gated PixelCNN in lib/model.c, and the
fixtures that tests/unit/test_parity.c checks the C code against.

    /usr/bin/python3 tests/torch/parity.py        (from anywhere; needs torch and numpy)

The network is rebuilt here from the description in lib/model.c's header comment, with
PyTorch's own convolutions (torch.nn.functional.conv2d on explicitly zero-padded inputs) and
masks derived afresh from the channel-group rule; it shares no code with the C library.
The conditioning nets of lib/cond.c are rebuilt the same way, from their description, with
F.conv2d, F.conv_transpose2d and F.linear:
    m(), h (B,D) -> s (B,S,H,W) of spatial conditioning (S > 0): dense D -> (H4,W4,2q), the
        vector read in (row, column, channel) order, relu; deconv 4x4/2/1 2q -> q (H2,W2),
        relu; deconv 4x4/2/1 q -> S (H,W); each layer then adds the 1x1 convs V*s.
    the encoder (encoder = 1), input map (B,C,H,W) -> h (B,D): conv 4x4/2/1 C -> q, relu;
        conv 4x4/2/1 q -> 2q, relu; dense of the (row, column, channel) flattening -> D.
    Here H2 = (H+2-4)//2+1 and H4 = (H2+2-4)//2+1 (the same for W); each deconvolution
    takes the output_padding (0 or 1) that gives exactly the size its mirror conv halved.
Computation is in float64; the weights and conditioning vectors are first rounded to float32,
so that the C code (float32) runs on exactly the same numbers.

For every case it writes
    tests/fixtures/parity_<case>.pcnn                  the model (pcnn-model(5) safetensors)
    tests/fixtures/parity_<case>.expected.safetensors  x (B,C,H,W) levels as floats,
        h (B,D) when the model is conditional and has no encoder, logits (B,H,W,C*K) (the
        (B,H,W,C,K) array with its last two axes merged: pcnn_st_read takes rank <= 4),
        nll (B) in nats, and
        grad.<param> = d(sum of nll)/d(param) for every parameter (zero where masked).
For a model with an encoder, h is the encoder's output of x itself and the gradients include
the encoder's. Before writing, it asserts that the twin is causal (changing channel c of
pixel q moves no logit of an earlier pixel nor of channels <= c of pixel q, and does move
some later logit; with an encoder, h is held at its value for the unchanged image, and a
change of x must then move earlier logits once h is recomputed), and compares its autograd
gradients with central finite differences on a sample of entries of every parameter.
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

# gray 256 levels; RGB 16 levels with a dense conditioning vector; binary gray,
# class-conditional (one-hot h). These three predate the conditioning nets: their model
# files carry no kind/spatial/encoder/net_features metadata (and so also check that such
# files still load as plain PixelCNNs), and their fixtures are unchanged since.
CASES = [
    dict(case="gray", C=1, K=256, L=2, p=8, n=5, H=7, W=7, D=0, classes=0, B=2, seed=101),
    dict(case="rgb", C=3, K=16, L=2, p=6, n=3, H=6, W=5, D=4, classes=0, B=2, seed=202),
    dict(case="class", C=1, K=2, L=2, p=4, n=3, H=5, W=6, D=3, classes=3, B=2, seed=303),
]
# With the conditioning nets (S: maps of s = m(h), q: the small nets' feature maps). Sizes
# are chosen so that the innermost map is larger than 1x1 (the channels-last flattening
# matters) and both output_paddings occur in each deconvolution: spatial 9 -> 4 -> 2 (0, then 1) and 10 -> 5 -> 2 (1, then 0);
# autoenc 8 -> 4 -> 2 and 11 -> 5 -> 2; autoenc_spatial 6 -> 3 -> 1 and 9 -> 4 -> 2.
CASES += [
    dict(case="dense", C=1, K=8, L=3, p=5, n=5, H=6, W=7, D=5, classes=0, S=0, encoder=0, q=0,
         B=2, seed=404),
    dict(case="spatial", C=3, K=4, L=1, p=3, n=3, H=9, W=10, D=4, classes=0, S=3, encoder=0,
         q=2, B=2, seed=505),
    dict(case="autoenc", C=1, K=16, L=2, p=4, n=3, H=8, W=11, D=5, classes=0, S=0, encoder=1,
         q=3, B=2, seed=606),
    dict(case="autoenc_spatial", C=3, K=4, L=1, p=6, n=3, H=6, W=9, D=3, classes=0, S=2,
         encoder=1, q=2, B=2, seed=707),
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


def half(x):
    """Size after a 4x4 convolution of stride 2 and padding 1."""
    return (x + 2 - 4) // 2 + 1


def param_specs(hp):
    """[(name, shape, mask or None)] in the library's order."""
    C, K, L, p, n, D = hp["C"], hp["K"], hp["L"], hp["p"], hp["n"], hp["D"]
    S, q, H, W = hp.get("S", 0), hp.get("q", 0), hp["H"], hp["W"]
    H4, W4 = half(half(H)), half(half(W))
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
        if S:  # 1x1 convolutions of s
            specs += [(pre + "v_cond.weight", (2 * p, S, 1, 1), None),
                      (pre + "h_cond.weight", (2 * p, S, 1, 1), None)]
        elif D:
            specs += [(pre + "v_cond.weight", (2 * p, D), None),
                      (pre + "h_cond.weight", (2 * p, D), None)]
    specs += [
        ("out1.weight", (p, p, 1, 1), tap_mask(p, 1, p, 1, G, False)),
        ("out1.bias", (p,), None),
        ("out2.weight", (C * K, p, 1, 1), tap_mask(C * K, 1, p, 1, G, False)),
        ("out2.bias", (C * K,), None),
    ]
    if hp.get("encoder", 0):
        specs += [
            ("enc.conv1.weight", (q, C, 4, 4), None),
            ("enc.conv1.bias", (q,), None),
            ("enc.conv2.weight", (2 * q, q, 4, 4), None),
            ("enc.conv2.bias", (2 * q,), None),
            ("enc.fc.weight", (D, H4 * W4 * 2 * q), None),
            ("enc.fc.bias", (D,), None),
        ]
    if S:
        specs += [
            ("cond_net.fc.weight", (H4 * W4 * 2 * q, D), None),
            ("cond_net.fc.bias", (H4 * W4 * 2 * q,), None),
            ("cond_net.deconv1.weight", (2 * q, q, 4, 4), None),  # (in, out, kh, kw)
            ("cond_net.deconv1.bias", (q,), None),
            ("cond_net.deconv2.weight", (q, S, 4, 4), None),
            ("cond_net.deconv2.bias", (S,), None),
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


def input_map(hp, x):
    """x (B,C,H,W) int64 levels -> the network's input (B,C,H,W) in [-1, 1]."""
    return 2 * x.to(DT) / (hp["K"] - 1) - 1


def encode(hp, params, inp):
    """The encoder: input map (B,C,H,W) -> h (B,D)."""
    q, H, W = hp["q"], hp["H"], hp["W"]
    B = inp.shape[0]
    a = F.relu(F.conv2d(inp, params["enc.conv1.weight"], params["enc.conv1.bias"], stride=2, padding=1))
    a = F.relu(F.conv2d(a, params["enc.conv2.weight"], params["enc.conv2.bias"], stride=2, padding=1))
    assert a.shape == (B, 2 * q, half(half(H)), half(half(W))), a.shape
    flat = a.permute(0, 2, 3, 1).reshape(B, -1)  # (row, column, channel) order
    return F.linear(flat, params["enc.fc.weight"], params["enc.fc.bias"])


def cond_maps(hp, params, h):
    """m(): h (B,D) -> s (B,S,H,W)."""
    q, H, W = hp["q"], hp["H"], hp["W"]
    H2, W2 = half(H), half(W)
    H4, W4 = half(H2), half(W2)
    B = h.shape[0]
    a = F.relu(F.linear(h, params["cond_net.fc.weight"], params["cond_net.fc.bias"]))
    a = a.view(B, H4, W4, 2 * q).permute(0, 3, 1, 2)  # read channels-last
    a = F.relu(F.conv_transpose2d(a, params["cond_net.deconv1.weight"], params["cond_net.deconv1.bias"],
                                  stride=2, padding=1, output_padding=(H2 - 2 * H4, W2 - 2 * W4)))
    assert a.shape == (B, q, H2, W2), a.shape
    out = F.conv_transpose2d(a, params["cond_net.deconv2.weight"], params["cond_net.deconv2.bias"],
                             stride=2, padding=1, output_padding=(H - 2 * H2, W - 2 * W2))
    assert out.shape == (B, hp["S"], H, W), out.shape
    return out


def forward(hp, params, masks, x, h):
    """logits (B,H,W,C,K) and per-image nll (B) in nats; x (B,C,H,W) int64 levels, h (B,D),
    or None for a model with an encoder: then h is the encoding of x."""
    C, K, L, p, n, H, D = hp["C"], hp["K"], hp["L"], hp["p"], hp["n"], hp["H"], hp["D"]
    S = hp.get("S", 0)
    s = n // 2

    def P(name):
        w = params[name]
        return w * masks[name] if masks[name] is not None else w

    inp = input_map(hp, x)
    if h is None and hp.get("encoder", 0):
        h = encode(hp, params, inp)
    if S:
        smap = cond_maps(hp, params, h)

    def cond(name):
        """The conditioning term of a pre-activation (B,2p,H,W) or (B,2p,1,1)."""
        if S:
            return F.conv2d(smap, P(name))
        return (h @ P(name).t())[:, :, None, None]

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
            va = va + cond(pre + "v_cond.weight")
        vout = gate(va, p)
        # cols j-s..j
        ha = F.conv2d(F.pad(hin, (s, 0, 0, 0)), P(pre + "h_conv.weight"), P(pre + "h_conv.bias"))
        ha = ha + F.conv2d(va, P(pre + "v_to_h.weight"))
        if D:
            ha = ha + cond(pre + "h_cond.weight")
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
    channels <= c of pixel q exactly as it was, and move at least one later logit. With an
    encoder, h is held fixed for that; recomputed, it must carry a change of the last pixel
    to the logits of the first."""
    C, K, H, W = hp["C"], hp["K"], hp["H"], hp["W"]
    with torch.no_grad():
        x1, h1 = x[:1].clone(), (h[:1] if h is not None else None)
        if hp.get("encoder", 0):  # the PixelCNN part, with h held at the encoding of x1
            h1 = encode(hp, params, input_map(hp, x1))
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
        if hp.get("encoder", 0):  # h recomputed from the changed image: the encoder sees it all
            xp = x1.clone()
            xp[0, :, H - 1, W - 1] = (xp[0, :, H - 1, W - 1] + 1 + (K - 1) // 2) % K
            cur, _ = forward(hp, params, masks, xp, None)
            moved = (cur[0].reshape(H * W, C, K)[0] - base[0]).abs().max().item()
            assert moved > 1e-9, "%s: the last pixel does not reach the first logits through h" % hp["case"]


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
    h = None  # with an encoder, forward() encodes x itself
    if D and not hp.get("encoder", 0):
        if hp["classes"]:
            h = F.one_hot(torch.randint(0, D, (B,), generator=gen), D).to(DT)
        else:
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
    if "S" in hp:  # the keys lib/modelfile.c writes since the conditioning nets
        model_meta.update({"kind": "pixelcnn", "spatial": str(hp["S"]), "encoder": str(hp["encoder"]),
                           "net_features": str(hp["q"])})
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
    if hp.get("encoder", 0):
        exp_meta["h"] = "none: the model encodes x itself (run it with h = NULL)"
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
    print("%-15s C=%d K=%-3d L=%d p=%d n=%d %dx%d D=%d classes=%d S=%d encoder=%d q=%d B=%d: "
          "%d params, nll %s, autograd vs finite differences max rel diff %.2e, "
          "float32 storage rel err %.1e, %d bytes"
          % (hp["case"], C, K, hp["L"], hp["p"], hp["n"], H, W, D, hp["classes"], hp.get("S", 0),
             hp.get("encoder", 0), hp.get("q", 0), B,
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
