#!/usr/bin/env bats
# shellcheck disable=SC2154  # bats sets status/output/stderr
# The README's pipelines run as written: every ```sh block after the first (the two commands),
# in a fresh folder, with the programs of this build first on PATH. pcnn-train is a wrapper
# that appends small sizes, so that each training takes seconds; its later options win over
# the README's. ../shared is the data beside this checkout, as the README says.
bats_require_minimum_version 1.5.0

load helpers

@test "README: every pipeline runs as written, in a fresh folder (small sizes)" {
    local top=$BATS_TEST_DIRNAME/../.. d=$BATS_TEST_TMPDIR p
    [ -r "$FASHION/train-images-idx3-ubyte.gz" ] || skip "no Fashion-MNIST in $FASHION"
    local shared
    shared=$(cd "$top/.." && pwd)/shared
    [ -d "$shared/data/att-faces" ] && [ -d "$shared/data/cifar10-partial" ] ||
        skip "no ../shared/data beside this checkout (the README's CIFAR and faces pipelines read it)"
    mkdir -p "$d/bin" "$d/run"
    for p in "$BIN"/pcnn-*; do ln -s "$(cd "$(dirname "$p")" && pwd)/$(basename "$p")" "$d/bin/"; done
    rm "$d/bin/pcnn-train"
    printf '#!/bin/sh\nexec "%s" "$@" -L 1 -p 6 -n 3 -s 2 --every 2 --valid-size 8 --limit 64\n' \
        "$(cd "$BIN" && pwd)/pcnn-train" >"$d/bin/pcnn-train"
    chmod +x "$d/bin/pcnn-train"
    # the blocks, with ../shared where this checkout's is; the .npy walk needs NumPy
    awk '/^```sh/ { b = 1; n++; next } /^```/ { b = 0; next } b && n > 1' "$top/README.md" |
        sed "s#\.\./shared#$shared#g" >"$d/run/pipelines.sh"
    if ! python3 -c 'import numpy' 2>/dev/null; then
        if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then ln -s /usr/bin/python3 "$d/bin/python3"
        else sed -i '/^python3 -c/,/walk.png/d' "$d/run/pipelines.sh"; fi
    fi
    [ "$(grep -c '^pcnn-' "$d/run/pipelines.sh")" -ge 15 ] || die "too few pipelines found in README.md"
    cd "$d/run"
    run --separate-stderr env PATH="$d/bin:$PATH" bash -e -o pipefail pipelines.sh
    [ "$status" -eq 0 ] || die "a README pipeline failed (status $status): $(tail -n 3 <<<"$stderr")"
    for p in fm.pcnn img.pgm ids.txt look.png grid.png nucleus.png completed.png sneakers.pgm cifar.pcnn ae.pcnn out.pgm named.png \
             embed.pcnn faces.pcnn portraits.png strip.png test.pcz; do
        [ -s "$p" ] || die "the README's $p was not made"
    done
}
