#!/usr/bin/python3
"""peer.py -- the same Gated PixelCNN in PyTorch, timed the way bench.c times ours.

Usage: peer.py CONFIG THREADS [DEVICE] [--steps N] [--measure train,nll,naive]
(CONFIG: fashion | cifar | tiny; DEVICE: cpu | cuda; N timed steps after one untimed, 3 by
default; --measure: which figures, all three by default). Prints one line:
"peer CONFIG train X img/s nll Y img/s naive-sampling Z s/image (batch 16)", the figures
not measured left out.
The network is the one of pcnn-model(5) written as a PyTorch user would: masked
nn.Conv2d weights, F.pad for the stack shifts, float32, Adam."""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = {
    "fashion": dict(C=1, H=28, W=28, L=15, p=64, n=5, K=256, batch=64),
    "cifar": dict(C=3, H=32, W=32, L=15, p=126, n=5, K=256, batch=32),  # p: a multiple of 3
    "tiny": dict(C=3, H=8, W=8, L=2, p=12, n=5, K=256, batch=8),  # tries the scripts out
}


def tap_mask(cout, rout, cin, kw, G, strict):
    def group(o, N, R):
        per = N // R
        return (o % per) // (per // G)
    m = torch.ones(cout, cin, 1, kw)
    for o in range(cout):
        for i in range(cin):
            gi, go = group(i, cin, 1), group(o, cout, rout)
            if not (gi < go if strict else gi <= go):
                m[o, i, 0, kw - 1] = 0
    return m


class Layer(nn.Module):
    def __init__(self, cin, p, n, C, first):
        super().__init__()
        s = n // 2
        self.p, self.s, self.first = p, s, first
        self.v = nn.Conv2d(cin, 2 * p, (s + 1, n))
        self.h = nn.Conv2d(cin, 2 * p, (1, s + 1))
        self.link = nn.Conv2d(2 * p, 2 * p, 1, bias=False)
        self.out = nn.Conv2d(p, p, 1)
        self.register_buffer("hmask", tap_mask(2 * p, 2, cin, s + 1, C, first))
        self.register_buffer("omask", tap_mask(p, 1, p, 1, C, False))

    def gate(self, a):
        return torch.tanh(a[:, :self.p]) * torch.sigmoid(a[:, self.p:])

    def forward(self, v, h):
        s, H = self.s, v.shape[2]
        if self.first:
            va = self.v(F.pad(v, (s, s, s + 1, 0)))[:, :, :H]
        else:
            va = self.v(F.pad(v, (s, s, s, 0)))
        ha = F.conv2d(F.pad(h, (s, 0, 0, 0)), self.h.weight * self.hmask, self.h.bias) + self.link(va)
        hout = F.conv2d(self.gate(ha), self.out.weight * self.omask, self.out.bias)
        return self.gate(va), hout if self.first else hout + h


class PixelCNN(nn.Module):
    def __init__(self, C, L, p, n, K, **_):
        super().__init__()
        self.C, self.K = C, K
        self.layers = nn.ModuleList([Layer(C if l == 0 else p, p, n, C, l == 0) for l in range(L + 1)])
        self.out1 = nn.Conv2d(p, p, 1)
        self.out2 = nn.Conv2d(p, C * K, 1)
        self.register_buffer("m1", tap_mask(p, 1, p, 1, C, False))
        self.register_buffer("m2", tap_mask(C * K, 1, p, 1, C, False))

    def forward(self, x):  # x (B,C,H,W) levels → logits (B,C,K,H,W)
        v = h = 2 * x.float() / (self.K - 1) - 1
        for layer in self.layers:
            v, h = layer(v, h)
        z = F.conv2d(F.relu(h), self.out1.weight * self.m1, self.out1.bias)
        out = F.conv2d(F.relu(z), self.out2.weight * self.m2, self.out2.bias)
        B, _, H, W = out.shape
        return out.view(B, self.C, self.K, H, W)

    def nll(self, x):  # mean nats per dimension
        return F.cross_entropy(self(x).transpose(1, 2), x.long())


def main():
    ap = argparse.ArgumentParser(description="bench.c's figures for the same network in PyTorch")
    ap.add_argument("config", choices=sorted(CONFIGS))
    ap.add_argument("threads", type=int)
    ap.add_argument("device", nargs="?", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--steps", type=int, default=3, help="timed steps after an untimed one")
    ap.add_argument("--measure", default="train,nll,naive", help="any of train,nll,naive")
    args = ap.parse_args()
    what = set(args.measure.split(","))
    if args.steps < 1 or not what or not what <= {"train", "nll", "naive"}:
        ap.error("--steps is at least 1, --measure a list of train, nll, naive")
    cfg = CONFIGS[args.config]
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    torch.manual_seed(1)
    net = PixelCNN(**cfg).to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    B, steps = cfg["batch"], args.steps
    x = torch.randint(0, cfg["K"], (B, cfg["C"], cfg["H"], cfg["W"]), device=dev)
    line = "peer " + args.config

    def step():
        opt.zero_grad()
        net.nll(x).backward()
        opt.step()

    if "train" in what:
        step()
        sync()
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        sync()
        line += " train %.3f img/s" % (steps * B / (time.perf_counter() - t0))

    with torch.no_grad():
        if "nll" in what:
            net.nll(x)
            sync()
            t0 = time.perf_counter()
            for _ in range(steps):
                net.nll(x)
            sync()
            line += " nll %.3f img/s" % (steps * B / (time.perf_counter() - t0))

        if "naive" in what:
            # naive loop at batch 16: one full forward per pixel and channel; timed over a
            # few passes (after an untimed one) and scaled to H*W*C passes
            xs = torch.zeros(16, cfg["C"], cfg["H"], cfg["W"], dtype=torch.long, device=dev)
            net(xs)
            sync()
            passes = 4
            t0 = time.perf_counter()
            for k in range(passes):
                logits = net(xs)[:, k % cfg["C"], :, 0, k]
                xs[:, k % cfg["C"], 0, k] = torch.multinomial(F.softmax(logits, -1), 1)[:, 0]
            sync()
            per_pass = (time.perf_counter() - t0) / passes
            naive = per_pass * cfg["H"] * cfg["W"] * cfg["C"] / 16
            line += " naive-sampling %.1f s/image (batch 16)" % naive
    print(line)


if __name__ == "__main__":
    main()
