#!/bin/bash
# compress.sh BUILD_DIR -- `make bench-compress`: pcnn-compress beside PNG, WebP lossless
# and JPEG XL lossless on held-out images, in bits per sub-pixel (8 x bytes / values) and
# images per second each way. Not a test.
#   Fashion-MNIST: the first $FASHION_N (default 500) test images, with their classes,
#     under the shipped model (trained on the 60,000 training images only).
#   CIFAR-10: the 400 records of ../shared/data's partial CIFAR-10 that
#     examples/Makefile holds out (examples/out/cifar/test.bin), under a model trained on
#     the 3600 others (examples/out/cifar-coder.pcnn; examples/Makefile trains it when it is
#     missing: about an hour and a half on one core).
# The other codecs code each image as a file of its own, as the published figures do (a
# file's header counts); each runs one process per image, whose start is in its speed.
# pcnn codes a whole stream in one process, on every core ($OMP_NUM_THREADS).
set -e
B=${1:-build}
FASHION_N=${FASHION_N:-500}
FM=${FM:-/usr/share/datasets/fashion-mnist}
OUT=${OUT:-examples/out}
CIFAR_MODEL=${CIFAR_MODEL:-$OUT/cifar-coder.pcnn}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE

now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.1f", n / (b - a) }'; }
bpsp() { awk -v s="$1" -v v="$2" 'BEGIN { printf "%.3f", 8 * s / v }'; }

# codec SET NAME EXT ENC DEC: every image of $W/SET/img-K.pnm coded by ENC IN OUT into
# $W/SET.EXT/img-K.EXT and decoded by DEC IN OUT (checked against the original): one line
codec() {
    local set=$1 name=$2 ext=$3 enc=$4 dec=$5 f g n=0 bytes=0 t0 t1 t2
    local d=$W/$set.$ext
    mkdir -p "$d"
    t0=$(now)
    for f in "$W/$set"/img-*.pnm; do g=$(basename "$f" .pnm); $enc "$f" "$d/$g.$ext"; done
    t1=$(now)
    for f in "$W/$set"/img-*.pnm; do g=$(basename "$f" .pnm); $dec "$d/$g.$ext" "$d/$g.pnm"; done
    t2=$(now)
    for f in "$W/$set"/img-*.pnm; do
        g=$(basename "$f" .pnm)
        n=$((n + 1)) bytes=$((bytes + $(stat -c %s "$d/$g.$ext")))
        cmp -s <(same_type "$f") <(same_type "$d/$g.pnm") ||
            { echo "$name: $g did not come back" >&2; exit 1; }
    done
    printf '| %-8s | %-22s | %6s | %8s | %8s |\n' "$set" "$name" "$(bpsp $bytes $((n * VALUES)))" \
        "$(rate $n "$t0" "$t1")" "$(rate $n "$t1" "$t2")"
}

# an image as plain PGM or PPM, whatever type a decoder chose (a PNG coder may write a
# colour image whose pixels are all gray as a gray one)
same_type() { pamtopnm -assume <"$1" | if [ "$GRAY" = 1 ]; then pgmtopgm -plain; else ppmtoppm -plain; fi; }

png_enc() { pnmtopng -compression 9 <"$1" >"$2" 2>/dev/null; }
png_dec() { pngtopnm <"$1" >"$2"; }
webp_enc() { pnmtopng <"$1" >"$2.png" 2>/dev/null && cwebp -quiet -lossless -z 9 "$2.png" -o "$2" && rm "$2.png"; }
# (WebP has no gray: a gray image comes back as RGB, of which one channel is kept)
webp_dec() { dwebp -quiet -ppm "$1" -o "$2.ppm" && if [ "$GRAY" = 1 ]; then pamchannel -infile "$2.ppm" 0 | pamtopnm -assume >"$2"; else mv "$2.ppm" "$2"; fi; }
# (one channel of an RGB image of three equal ones is the gray image)
jxl_enc() { cjxl -d 0 -e 9 "$1" "$2" >/dev/null 2>&1; }
jxl_dec() { local e=ppm; [ "$GRAY" = 1 ] && e=pgm; djxl "$1" "$2.$e" >/dev/null 2>&1 && mv "$2.$e" "$2"; }

# data_set SET MODEL STREAM [COMPRESS OPTIONS]: the table's lines for one set
data_set() {
    local set=$1 model=$2 stream=$3 t0 t1 t2 size n bpd
    shift 3
    mkdir -p "$W/$set"
    (cd "$W/$set" && pamsplit "$stream" 'img-%d.pnm' 2>/dev/null)
    n=$(ls "$W/$set" | wc -l)
    # values per image: width x height x channels
    VALUES=$(pamfile "$W/$set/img-0.pnm" | awk '{ for (i = 1; i <= NF; i++) if ($i == "by") print $(i-1) * $(i+1) }')
    GRAY=0
    pamfile "$W/$set/img-0.pnm" | grep -q PGM && GRAY=1
    [ "$GRAY" = 1 ] || VALUES=$((VALUES * 3))
    bpd=$("$B/pcnn-nll" -q -m "$model" "$@" "$stream" | awk '/^mean/ { print $2 }')
    t0=$(now)
    "$B/pcnn-compress" -q -m "$model" "$@" -o "$W/$set.pcz" "$stream"
    t1=$(now)
    "$B/pcnn-decompress" -q -m "$model" -o "$W/$set.back" "$W/$set.pcz"
    t2=$(now)
    cmp -s "$stream" "$W/$set.back" || { echo "pcnn: $set did not come back" >&2; exit 1; }
    size=$(stat -c %s "$W/$set.pcz")
    printf '| %-8s | %-22s | %6s | %8s | %8s |\n' "$set" "pcnn-compress ($n)" "$(bpsp "$size" $((n * VALUES)))" \
        "$(rate "$n" "$t0" "$t1")" "$(rate "$n" "$t1" "$t2")"
    printf '| %-8s | %-22s | %6.3f | %8s | %8s |\n' "$set" "(the model's NLL)" "$bpd" "" ""
    codec "$set" "PNG -compression 9" png png_enc png_dec
    codec "$set" "WebP -lossless -z 9" webp webp_enc webp_dec
    codec "$set" "JPEG XL -d 0 -e 9" jxl jxl_enc jxl_dec
}

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; OMP_NUM_THREADS=${OMP_NUM_THREADS:-all}"
echo "bits per sub-pixel (whole files / values), images per second coding and decoding"
echo
echo "| set      | codec                  | bits   | enc/s    | dec/s    |"
echo "|----------|------------------------|--------|----------|----------|"
if [ "$FASHION_N" = 0 ]; then
    : # FASHION_N=0: CIFAR-10 only
elif [ -f "$FM/t10k-images-idx3-ubyte.gz" ] && [ -f models/fashion.pcnn ]; then
    "$B/pcnn-convert" -q --limit "$FASHION_N" -l "$FM/t10k-labels-idx1-ubyte.gz" --labels-out "$W/fashion.labels" \
        -o "$W/fashion.pgm" "$FM/t10k-images-idx3-ubyte.gz"
    data_set fashion models/fashion.pcnn "$W/fashion.pgm" -l "$W/fashion.labels"
else
    echo "(no Fashion-MNIST at $FM, or no models/fashion.pcnn)"
fi
if [ -f "$OUT/cifar/test.bin" ] && [ -f "$CIFAR_MODEL" ]; then
    "$B/pcnn-convert" -q -o "$W/cifar.ppm" "$OUT/cifar/test.bin"
    data_set cifar "$CIFAR_MODEL" "$W/cifar.ppm"
else
    echo "(no $CIFAR_MODEL: make -f examples/Makefile $OUT/cifar-coder.pcnn trains it)"
fi
