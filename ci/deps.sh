#!/bin/sh
# ci/deps.sh PACKAGE... - install the Debian packages that are missing (make
# deps, make peers-deps, ci/slurm_cluster.sh): as root with apt-get (after an
# apt-get update), otherwise print the line to run and fail.
set -eu
missing=
for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages:$missing"
    echo "run: sudo apt-get install -y$missing"
    exit 1
fi
echo "installing$missing"
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing > /dev/null
