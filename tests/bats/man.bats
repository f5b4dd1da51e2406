#!/usr/bin/env bats
# The man pages: one per program and format, each clean under mandoc -Tlint, and every option
# of a program's table named in its page.
bats_require_minimum_version 1.5.0

load helpers

@test "man pages: mandoc -Tlint -W warning is silent for every page" {
    command -v mandoc >/dev/null || skip "mandoc not installed"
    local top=$BATS_TEST_DIRNAME/../..
    for page in pcnn.7 pcnn-train.1 pcnn-nll.1 pcnn-sample.1 pcnn-interp.1 pcnn-encode.1 pcnn-embed.1 pcnn-strip.1 pcnn-info.1 pcnn-convert.1 pcnn-compress.1 pcnn-decompress.1 \
                pcnn-model.5 pcnn-stream.5 pcnn-coded.5; do
        [ -f "$top/man/$page" ] || die "missing man/$page"
        run -0 mandoc -Tlint -W warning "$top/man/$page"
        [ -z "$output" ] || die "$page: $output"
    done
}

@test "man pages: every long option in a program's --help appears in its page" {
    local top=$BATS_TEST_DIRNAME/../..
    for prog in pcnn-train pcnn-nll pcnn-sample pcnn-interp pcnn-encode pcnn-embed pcnn-strip pcnn-info pcnn-convert pcnn-compress pcnn-decompress; do
        run -0 "$BIN/$prog" --help
        for opt in $(grep -o -- '--[a-z][a-z0-9-]*' <<<"$output" | sort -u); do
            tr -d '\\' <"$top/man/$prog.1" | grep -q -- "Fl -${opt#--}" || die "$prog: $opt not in man/$prog.1"
        done
    done
}
