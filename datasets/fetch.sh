#!/usr/bin/env bash
# fetch.sh - find, verify and install the data files into datasets/data/.
#
#   datasets/fetch.sh [--dir DIR] [--no-mirror] [--no-download] [FILE...]
#
# FILE is a path as listed in datasets/SHA256SUMS (e.g. braille/braille_th10_events.bin);
# without FILE every listed file is installed. For each file the first hit wins:
#   1. DIR (--dir, or the environment variable BRUNO_DATA_DIR), as DIR/<path> or DIR/<name>;
#   2. datasets/data/<path> (already installed);
#   3. the offline mirror ../shared/datasets/<path> beside the repository root;
#   4. a converted .bin is rebuilt from its original with datasets/convert.py;
#      an original is downloaded with curl from its pinned canonical source.
# Every file is checked against datasets/SHA256SUMS wherever it came from.
# A mismatch is an error (exit 1): the file is not installed and nothing
# falls back silently to another copy, because two different files under
# one name would make results irreproducible.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
sums="$here/SHA256SUMS"
dest="$here/data"
mirror="$root/../shared/datasets"
dir="${BRUNO_DATA_DIR:-}"
download=1
want=()

while [ $# -gt 0 ]; do
    case "$1" in
    --dir) [ $# -ge 2 ] || { echo "fetch.sh: --dir needs a directory" >&2; exit 2; }; dir="$2"; shift 2 ;;
    --no-download) download=0; shift ;;
    --no-mirror) mirror=""; shift ;;   # skip ../shared (tests the convert/download path)
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fetch.sh: unknown option $1" >&2; exit 2 ;;
    *) want+=("$1"); shift ;;
    esac
done
if [ -n "$dir" ] && [ ! -d "$dir" ]; then
    echo "fetch.sh: data directory '$dir' does not exist" >&2; exit 2
fi

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
    elif command -v shasum >/dev/null 2>&1; then shasum -a 256 "$1" | cut -d' ' -f1
    else python3 -c 'import hashlib,sys;print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"
    fi
}

expected_of() { awk -v p="$1" '$2 == p { print $1 }' "$sums"; }

# Pinned canonical sources of the originals (see the dataset READMEs).
JSB_URL=https://raw.githubusercontent.com/czhuang/JSB-Chorales-dataset/9a7f733ddb4ed91f48da64ac7f0f621c34aadd4d
TH10_URL=https://raw.githubusercontent.com/miskarous/tactile_braille_reading/30e2adf4872886d05755e964476a8acfa4f855c0/notebooks/data/data_braille_letters_th10
TH10_ZENODO=https://zenodo.org/records/6556273/files/reading_braille_data.zip?download=1
TUT_URL=https://raw.githubusercontent.com/MastellaM/tactile_braille_reading_encoding/3b07749b35cd1a6e5d7f2e9722906b5876847f96/python/data/tutorial5_braille_spiking_data.pkl.gz

# Which original each converted file is made from, and how.
source_of() {
    case "$1" in
    jsb_chorales/jsb_quarter.bin) echo "jsb jsb_chorales/jsb-chorales-quarter.json" ;;
    jsb_chorales/jsb_8th.bin)     echo "jsb jsb_chorales/jsb-chorales-8th.json" ;;
    jsb_chorales/jsb_16th.bin)    echo "jsb jsb_chorales/jsb-chorales-16th.json" ;;
    braille/braille_th10_events.bin)   echo "events braille/data_braille_letters_th10" ;;
    braille/braille_raw2021_40hz.bin)  echo "raw braille/tutorial5_braille_spiking_data.pkl.gz" ;;
    *) echo "" ;;
    esac
}

# curl URL OUT; a clear message when there is no network or the server says no.
fetch_url() {
    command -v curl >/dev/null 2>&1 || { echo "fetch.sh: curl is not installed; cannot download $1" >&2; return 1; }
    echo "fetch.sh: downloading $1" >&2
    if ! curl -fL --retry 2 --connect-timeout 20 -sS -o "$2" "$1"; then
        echo "fetch.sh: download failed: $1 (no network? put the file in BRUNO_DATA_DIR instead)" >&2
        rm -f "$2"; return 1
    fi
}

download_original() { # REL TMPFILE
    local rel="$1" out="$2" name
    name="$(basename "$rel")"
    case "$rel" in
    jsb_chorales/*.json) fetch_url "$JSB_URL/$name" "$out" ;;
    braille/tutorial5_braille_spiking_data.pkl.gz) fetch_url "$TUT_URL" "$out" ;;
    braille/data_braille_letters_th10)
        # GitHub first (the exact blob); if that is not the right file (e.g. a
        # Git LFS pointer), the Zenodo archive that the authors cite.
        if fetch_url "$TH10_URL" "$out" && [ "$(sha256_of "$out")" = "$(expected_of "$rel")" ]; then return 0; fi
        fetch_url "$TH10_ZENODO" "$out.zip" || return 1
        python3 - "$out.zip" "$out" <<'PY' || { rm -f "$out.zip"; return 1; }
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
names = [n for n in z.namelist() if n.endswith("data/data_braille_letters_th10")]
if not names:
    sys.exit("fetch.sh: data/data_braille_letters_th10 not found in the Zenodo archive")
open(sys.argv[2], "wb").write(z.read(names[0]))
PY
        rm -f "$out.zip" ;;
    *) echo "fetch.sh: no download source known for $rel" >&2; return 1 ;;
    esac
}

# install REL: put a verified copy at $dest/REL. Returns non-zero on failure.
install_one() {
    local rel="$1" name exp cand got tmp conv kind orig
    name="$(basename "$rel")"
    exp="$(expected_of "$rel")"
    [ -n "$exp" ] || { echo "fetch.sh: $rel is not listed in datasets/SHA256SUMS" >&2; return 1; }
    mkdir -p "$dest/$(dirname "$rel")"

    for cand in ${dir:+"$dir/$rel" "$dir/$name"} "$dest/$rel" ${mirror:+"$mirror/$rel"}; do
        [ -f "$cand" ] || continue
        got="$(sha256_of "$cand")"
        if [ "$got" != "$exp" ]; then
            echo "fetch.sh: CHECKSUM MISMATCH for $cand" >&2
            echo "          expected sha256 $exp" >&2
            echo "          got      sha256 $got" >&2
            echo "          (delete or replace that file; it is not used)" >&2
            return 1
        fi
        if [ "$cand" != "$dest/$rel" ]; then
            cp -f "$cand" "$dest/$rel.tmp.$$" && chmod u+w "$dest/$rel.tmp.$$" && mv -f "$dest/$rel.tmp.$$" "$dest/$rel"
            echo "fetch.sh: $rel  <- $cand (sha256 ok)"
        else
            echo "fetch.sh: $rel  (installed, sha256 ok)"
        fi
        return 0
    done

    tmp="$dest/$rel.tmp.$$"
    conv="$(source_of "$rel")"
    if [ -n "$conv" ]; then
        kind="${conv%% *}"; orig="${conv#* }"
        install_one "$orig" || return 1
        echo "fetch.sh: $rel  <- convert.py $kind $orig"
        python3 "$here/convert.py" "$kind" "$dest/$orig" "$tmp" || { rm -f "$tmp"; return 1; }
    elif [ "$download" = 1 ]; then
        download_original "$rel" "$tmp" || { rm -f "$tmp"; return 1; }
    else
        echo "fetch.sh: $rel not found (looked in ${dir:+$dir, }$dest${mirror:+, $mirror}; downloads disabled)" >&2
        return 1
    fi
    got="$(sha256_of "$tmp")"
    if [ "$got" != "$exp" ]; then
        echo "fetch.sh: CHECKSUM MISMATCH for $rel (made or downloaded just now)" >&2
        echo "          expected sha256 $exp, got $got; not installed" >&2
        rm -f "$tmp"; return 1
    fi
    mv -f "$tmp" "$dest/$rel"
    echo "fetch.sh: $rel  (sha256 ok)"
}

if [ ${#want[@]} -eq 0 ]; then
    while read -r _ rel; do want+=("$rel"); done < <(grep -v '^#' "$sums" | grep .)
fi
fail=0
for rel in "${want[@]}"; do
    install_one "$rel" || fail=1
done
if [ "$fail" != 0 ]; then
    echo "fetch.sh: some files are missing or failed verification (see above)" >&2
    exit 1
fi
echo "fetch.sh: all ${#want[@]} files verified in datasets/data/"
