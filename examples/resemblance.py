#!/usr/bin/python3
"""resemblance.py -- do portraits drawn for a person look like that person, to the embedding net?

    resemblance.py PORTRAITS.npy N PEOPLE PHOTOS.npy PHOTOS.ids

PORTRAITS.npy: the embeddings (pcnn-embed) of portraits drawn for the people named in PEOPLE
(a comma-separated list of ids), N per person, in that order. PHOTOS.npy and PHOTOS.ids: the
embeddings of real photos and their person's id, one line per photo. For every portrait it
takes the mean Euclidean distance to the photos of its own person and to the photos of each
other person, and prints, per person and overall: the mean distance to their own photos, the
mean distance to another person's photos, and the fraction of portraits nearer their own
person than the average other person (0.5 would be chance). Needs numpy. Errors are one line
on stderr and exit status 1.
"""
import sys

import numpy as np

PROG = "resemblance.py"


def die(msg):
    sys.stderr.write(f"{PROG}: {msg}\n")
    sys.exit(1)


def read_records(path):
    """every .npy record of a stream, as the rows of one 2-D array"""
    rows = []
    with open(path, "rb") as f:
        while f.peek(1):
            try:
                a = np.lib.format.read_array(f, allow_pickle=False)
            except ValueError as e:
                die(f"{path}: record {len(rows) + 1}: {e}")
            rows.append(np.asarray(a, dtype=np.float64).reshape(-1))
    if not rows:
        die(f"{path}: no .npy records")
    if len({r.size for r in rows}) != 1:
        die(f"{path}: records of different lengths")
    return np.stack(rows)


def main(argv):
    if len(argv) != 6:
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        sys.exit(2)
    portraits = read_records(argv[1])
    try:
        n = int(argv[2])
        people = [int(p) for p in argv[3].split(",")]
    except ValueError:
        die("N must be an integer and PEOPLE a comma-separated list of integers")
    photos = read_records(argv[4])
    try:
        with open(argv[5]) as f:
            ids = np.array([int(line) for line in f if line.strip()])
    except (OSError, ValueError) as e:
        die(f"{argv[5]}: {e}")
    if len(portraits) != n * len(people):
        die(f"{argv[1]}: {len(portraits)} records, expected {n} x {len(people)}")
    if len(ids) != len(photos):
        die(f"{argv[5]}: {len(ids)} ids for {len(photos)} photos")
    if portraits.shape[1] != photos.shape[1]:
        die("portraits and photos are embedded in different dimensions")
    everyone = sorted(set(ids.tolist()))
    for p in people:
        if p not in everyone:
            die(f"{argv[5]}: no photos of person {p}")

    print(f"{'person':>6} {'own':>7} {'other':>7} {'nearer own':>10}")
    own_all, other_all, wins_all = [], [], []
    for k, person in enumerate(people):
        own, other, wins = [], [], []
        for e in portraits[k * n:(k + 1) * n]:
            d = np.linalg.norm(photos - e, axis=1)
            mine = d[ids == person].mean()
            theirs = [d[ids == q].mean() for q in everyone if q != person]
            own.append(mine)
            other.append(np.mean(theirs))
            wins.append(mine < np.mean(theirs))
        print(f"{person:>6} {np.mean(own):7.3f} {np.mean(other):7.3f} {np.mean(wins):10.2f}")
        own_all += own
        other_all += other
        wins_all += wins
    print(f"{'all':>6} {np.mean(own_all):7.3f} {np.mean(other_all):7.3f} {np.mean(wins_all):10.2f}")


if __name__ == "__main__":
    main(sys.argv)
