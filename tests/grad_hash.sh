#!/bin/sh
# grad_hash.sh - the exact trainers' gradients, bit for bit (issue 14, §1):
# builds tests/grad_hash.c in float (the host's kernel: AVX-512 where the
# compiler targets it), float with the portable rows (BRUNO_NO_AVX512) and
# double, and compares every case's hash with reference/grad_hashes.txt
# (recorded on an AVX-512 host with gcc 12 from the per-step engine of main at
# 81ecf47, whose Heracles rule changed 14 cases a variant, before the window
# kernels;
# make grad-hash). --record rewrites that file instead (reviewed, never in CI).
# --build only compiles the variants, --run only runs and checks what
# --build left (make test compiles beside its other builds, runs after them).
# usage: grad_hash.sh BUILD_DIR CC "CFLAGS" [--record | --build | --run]
set -eu
dir=$1; cc=$2; cflags=$3; mode=${4:-check}
ref=reference/grad_hashes.txt
mkdir -p "$dir"
out="$dir/grad_hashes.txt"
native=float-portable
if echo | $cc $cflags -dM -E - 2>/dev/null | grep -q __AVX512DQ__; then native=float-avx512; fi
variants="$native: float-portable:-DBRUNO_NO_AVX512 double:-DBRUNO_REAL_DOUBLE"
[ "$native" = float-portable ] && variants="float-portable:-DBRUNO_NO_AVX512 double:-DBRUNO_REAL_DOUBLE"
if [ "$mode" != --run ]; then
    for v in $variants; do
        tag=${v%%:*}; flags=${v#*:}
        $cc $cflags $flags -o "$dir/grad_hash_$tag" tests/grad_hash.c -lm
    done
fi
[ "$mode" = --build ] && exit 0
: > "$out"
for v in $variants; do
    tag=${v%%:*}
    if [ ! -x "$dir/grad_hash_$tag" ]; then
        echo "grad_hash: $dir/grad_hash_$tag is not built (grad_hash.sh ... --build first)"
        exit 1
    fi
    "$dir/grad_hash_$tag" | sed "s|^|$tag |" >> "$out"
done
if [ "$mode" = --record ]; then
    cp "$out" "$ref"
    echo "grad_hash: recorded $(wc -l < "$ref") hashes into $ref"
    exit 0
fi
# compare the variants this host built; a variant the reference lacks is a failure
bad=0
for tag in $(cut -d' ' -f1 "$out" | sort -u); do
    if ! grep "^$tag " "$ref" > "$dir/grad_hashes.ref" || ! grep "^$tag " "$out" | diff "$dir/grad_hashes.ref" - ; then
        echo "grad_hash: $tag differs from $ref (above: < reference, > now)"
        bad=1
    fi
done
[ $bad = 0 ] && echo "grad_hash: $(wc -l < "$out") cases bit-identical to $ref ($(cut -d' ' -f1 "$out" | sort -u | tr '\n' ' '))"
exit $bad
