#!/usr/bin/python3
"""judge.py -- are a class-conditional Fashion-MNIST PixelCNN's samples recognisable as their class?

    judge.py train OUT.pt [FM]          train a small CNN classifier on the real Fashion-MNIST
                                        training set (FM: the folder of the four .gz files,
                                        default /usr/share/datasets/fashion-mnist), save its state
                                        dict to OUT.pt and print its accuracy on the 10,000 real
                                        test images, overall and per class
    judge.py score MODEL.pt N [FILE]    read 10*N 28x28 P5 images from FILE (default stdin) in the
                                        order `pcnn-sample -c all -n N` writes them (N of class 0,
                                        then N of class 1, ...) and print, per class, the fraction
                                        the classifier judges to be of that class

The classifier's test accuracy is stored in the state dict (buffers test_accuracy and
test_class_accuracy), so `score` prints it for reference without the data set. Both commands use
one CPU thread. Errors are one line on stderr and exit status 1.
"""
import gzip
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

PROG = "judge.py"
FM_DEFAULT = "/usr/share/datasets/fashion-mnist"
NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
SIZE = 28
# mean and standard deviation of the Fashion-MNIST training pixels, on a 0..1 scale
MEAN, STD = 0.2860, 0.3530
SEED = 1
EPOCHS = 3
BATCH = 64
LR = 1e-3


class Error(Exception):
    pass


class Net(nn.Module):
    """Two 3x3 conv blocks (16 and 32 maps, each with batch norm and 2x2 max pooling), then 128 hidden units."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.fc1 = nn.Linear(32 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)
        self.drop = nn.Dropout(0.25)
        # the accuracy on the real test images, filled in by `train`, read by `score`
        self.register_buffer("test_accuracy", torch.tensor(-1.0))
        self.register_buffer("test_class_accuracy", torch.full((10,), -1.0))

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = self.drop(F.relu(self.fc1(x.flatten(1))))
        return self.fc2(x)


def normalise(pixels):
    """uint8 or float array (n, 28, 28) on a 0..255 scale -> float tensor (n, 1, 28, 28)."""
    x = torch.from_numpy(np.asarray(pixels, dtype=np.float32)).unsqueeze(1)
    return (x / 255.0 - MEAN) / STD


# ---- the IDX files of Fashion-MNIST -------------------------------------------------------------

def read_idx(path, magic, header):
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise Error(f"{path}: {e.strerror or e}")
    except EOFError:
        raise Error(f"{path}: truncated")
    if len(data) < header or int.from_bytes(data[0:4], "big") != magic:
        raise Error(f"{path}: not an IDX file of the expected kind")
    return data


def load_fashion(folder, split):
    images = read_idx(os.path.join(folder, f"{split}-images-idx3-ubyte.gz"), 0x803, 16)
    labels = read_idx(os.path.join(folder, f"{split}-labels-idx1-ubyte.gz"), 0x801, 8)
    n, h, w = (int.from_bytes(images[4 + 4 * i:8 + 4 * i], "big") for i in range(3))
    if (h, w) != (SIZE, SIZE) or len(images) != 16 + n * h * w:
        raise Error(f"{split} images: expected {n} images of {SIZE}x{SIZE}")
    if int.from_bytes(labels[4:8], "big") != n or len(labels) != 8 + n:
        raise Error(f"{split} labels: expected {n} labels")
    x = np.frombuffer(images, np.uint8, offset=16).reshape(n, h, w)
    y = np.frombuffer(labels, np.uint8, offset=8).astype(np.int64)
    if y.max() > 9:
        raise Error(f"{split} labels: a label above 9")
    return x, y


# ---- netpbm: a stream of P5 images ---------------------------------------------------------------

def read_pgm_stream(data):
    """Every P5 image of a netpbm stream (netpbm's rules: header fields separated by whitespace,
    '#' comments to the end of a line, one whitespace character after maxval, 1 byte per sample
    when maxval < 256 and 2 big-endian bytes otherwise; whitespace between images is skipped).
    Returns a float array (n, 28, 28) on a 0..255 scale."""
    out = []
    pos, end = 0, len(data)
    while True:
        while pos < end and data[pos] in b" \t\r\n\f\v":
            pos += 1
        if pos == end:
            break
        k = len(out) + 1
        magic = data[pos:pos + 2]
        if magic != b"P5":
            if len(magic) < 2:
                raise Error(f"image {k}: truncated stream")
            raise Error(f"image {k}: not a binary PGM (P5) image (magic {magic!r})")
        pos += 2
        fields = []
        while len(fields) < 3:
            if pos == end:
                raise Error(f"image {k}: truncated stream (in the header)")
            c = data[pos]
            if c == ord("#"):
                nl = data.find(b"\n", pos)
                cr = data.find(b"\r", pos)
                stops = [i for i in (nl, cr) if i >= 0]
                pos = min(stops) if stops else end
            elif c in b" \t\r\n\f\v":
                pos += 1
            elif ord("0") <= c <= ord("9"):
                start = pos
                while pos < end and ord("0") <= data[pos] <= ord("9"):
                    pos += 1
                if pos == end:
                    raise Error(f"image {k}: truncated stream (in the header)")
                if data[pos] not in b" \t\r\n\f\v#":
                    raise Error(f"image {k}: bad character {chr(data[pos])!r} in the header")
                fields.append(int(data[start:pos]))
            else:
                raise Error(f"image {k}: bad character {chr(c)!r} in the header")
        w, h, maxval = fields
        if data[pos] not in b" \t\r\n\f\v":
            raise Error(f"image {k}: no whitespace after maxval")
        pos += 1
        if not 1 <= maxval <= 65535:
            raise Error(f"image {k}: maxval {maxval} out of range 1..65535")
        if (w, h) != (SIZE, SIZE):
            raise Error(f"image {k}: {w}x{h}, expected {SIZE}x{SIZE}")
        depth = 1 if maxval < 256 else 2
        size = w * h * depth
        if end - pos < size:
            raise Error(f"image {k}: truncated stream ({end - pos} of {size} raster bytes)")
        raster = np.frombuffer(data, np.uint8 if depth == 1 else ">u2", count=w * h, offset=pos)
        pos += size
        v = raster.astype(np.float64).reshape(h, w)
        if v.max() > maxval:
            raise Error(f"image {k}: a sample above maxval {maxval}")
        out.append(v * 255.0 / maxval)
    return np.array(out, dtype=np.float32).reshape(-1, SIZE, SIZE)


# ---- the two commands ----------------------------------------------------------------------------

def predict(model, x, batch=1000):
    model.eval()
    with torch.no_grad():
        return torch.cat([model(x[i:i + batch]).argmax(1) for i in range(0, len(x), batch)])


def train(out_path, folder):
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    start = time.time()
    xtrain, ytrain = load_fashion(folder, "train")
    xtest, ytest = load_fashion(folder, "t10k")
    xtrain, ytrain = normalise(xtrain), torch.from_numpy(ytrain)
    xtest, ytest = normalise(xtest), torch.from_numpy(ytest)

    model = Net()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    steps = EPOCHS * ((len(xtrain) + BATCH - 1) // BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3 * LR, total_steps=steps)
    for epoch in range(EPOCHS):
        model.train()
        order = torch.from_numpy(rng.permutation(len(xtrain)))
        total, count = 0.0, 0
        for i in range(0, len(order), BATCH):
            idx = order[i:i + BATCH]
            loss = F.cross_entropy(model(xtrain[idx]), ytrain[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            count += len(idx)
        acc = (predict(model, xtest) == ytest).float().mean().item()
        print(f"{PROG}: epoch {epoch + 1}/{EPOCHS}: train loss {total / count:.4f}, "
              f"test accuracy {acc:.4f} ({time.time() - start:.0f} s)", file=sys.stderr)

    pred = predict(model, xtest)
    right = pred == ytest
    per_class = torch.tensor([right[ytest == k].float().mean().item() for k in range(10)])
    model.test_accuracy.fill_(right.float().mean().item())
    model.test_class_accuracy.copy_(per_class)
    try:
        torch.save(model.state_dict(), out_path)
    except OSError as e:
        raise Error(f"{out_path}: {e.strerror or e}")

    print(f"classifier accuracy on the {len(ytest)} real Fashion-MNIST test images "
          f"({EPOCHS} epochs, {time.time() - start:.0f} s on 1 thread)")
    for k in range(10):
        print(f"{k:<6} {NAMES[k]:<12} {per_class[k].item():.4f}")
    print(f"{'all':<6} {'':<12} {model.test_accuracy.item():.4f}")


def score(model_path, n_arg, file):
    try:
        n = int(n_arg)
    except ValueError:
        n = 0
    if n < 1:
        raise Error(f"N must be a positive integer, not {n_arg!r}")
    model = Net()
    try:
        state = torch.load(model_path, map_location="cpu")
        model.load_state_dict(state)
    except OSError as e:
        raise Error(f"{model_path}: {e.strerror or e}")
    except Exception as e:  # a missing, damaged or foreign file
        msg = " ".join(str(e).split())
        raise Error(f"{model_path}: not a judge.py classifier ({msg[:200]})")
    try:
        if file is None or file == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(file, "rb") as f:
                data = f.read()
    except OSError as e:
        raise Error(f"{file}: {e.strerror}")
    images = read_pgm_stream(data)
    if len(images) != 10 * n:
        raise Error(f"{len(images)} images, expected 10*N = {10 * n} (N of each class, class 0 first)")

    pred = predict(model, normalise(images)).numpy().reshape(10, n)
    real = model.test_class_accuracy.tolist()
    print(f"samples: the fraction ({n} per class) that the classifier judges to be of their class;"
          f" real: its accuracy on the real test images")
    print(f"{'class':<6} {'name':<12} {'samples':<16} {'real':<6} most often taken for")
    for k in range(10):
        hits = int((pred[k] == k).sum())
        wrong = np.bincount(pred[k][pred[k] != k], minlength=10)
        other = NAMES[int(wrong.argmax())] if wrong.any() else "-"
        print(f"{k:<6} {NAMES[k]:<12} {hits / n:<6.3f} {f'{hits}/{n}':<9} {real[k]:<6.3f} {other}")
    hits = int((pred == np.arange(10)[:, None]).sum())
    print(f"{'all':<6} {'':<12} {hits / (10 * n):<6.3f} {f'{hits}/{10 * n}':<9} "
          f"{model.test_accuracy.item():.3f}")


def main(argv):
    torch.set_num_threads(1)
    if len(argv) >= 2 and argv[0] == "train" and len(argv) <= 3:
        train(argv[1], argv[2] if len(argv) == 3 else FM_DEFAULT)
    elif len(argv) >= 3 and argv[0] == "score" and len(argv) <= 4:
        score(argv[1], argv[2], argv[3] if len(argv) == 4 else None)
    else:
        print(f"usage: {PROG} train OUT.pt [FASHION-MNIST-DIR] | {PROG} score MODEL.pt N [FILE]",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Error as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
