#!/usr/bin/python3
"""curve.py LOG... -- the training curve of pcnn-train runs from their stderr logs, as
tab-separated lines: hours of training, step, held-out value (bits/dim for a PixelCNN).

A log may hold several runs of one model, each resumed where the last stopped (as
`make -f examples/Makefile fashion` appends them): hours add up over the runs. A run's
hours at a validation line are those of its last progress line ("elapsed H:MM:SS",
written every 10 s), so they are at most about 10 s early."""
import re
import sys

HEADER = re.compile(r"step (\d+) of \d+$")
PROGRESS = re.compile(r"train (\d+)/\d+ .* elapsed (\d+(?::\d+){1,2})")
VALID = re.compile(r"step (\d+) valid ([0-9.]+)")


def seconds(hms):
    s = 0
    for part in hms.split(":"):
        s = 60 * s + int(part)
    return s


def main(paths):
    done = 0.0  # seconds of the runs before this one
    run = 0.0   # seconds into this run
    print("hours\tstep\tvalid")
    for path in paths:
        with open(path, errors="replace") as f:
            for line in f:
                if HEADER.search(line) and "training images" in line:
                    done += run
                    run = 0.0
                elif m := PROGRESS.search(line):
                    run = seconds(m.group(2))
                elif m := VALID.search(line):
                    print(f"{(done + run) / 3600:.3f}\t{m.group(1)}\t{m.group(2)}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: curve.py LOG...")
    main(sys.argv[1:])
