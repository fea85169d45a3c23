#!/bin/sh
# ci/slurm_cluster.sh - a single-node SLURM cluster on this machine, from
# Debian's packages, for `make slurm-check` (and for trying RUNNER=slurm).
#
#   ci/slurm_cluster.sh start    install what is missing, write slurm.conf for
#                                this node, start munged, slurmctld, slurmd,
#                                wait until the node is idle
#   ci/slurm_cluster.sh stop     stop the daemons it started, by their pids
#   ci/slurm_cluster.sh status   the daemons and sinfo
#   ci/slurm_cluster.sh env      the line that points the SLURM commands here
#
# Everything lives in SLURM_STATE (default build/slurm-cluster): slurm.conf,
# the munge key and socket, state, spool, logs and the pid files; nothing
# global is written (the Debian packages' own services stay off). Client
# commands find the cluster through SLURM_CONF=$SLURM_STATE/slurm.conf.
# Set-up for machines without systemd (PID 1 is not systemd here, and
# package scripts may not start services): the daemons run in the
# foreground (-D/-F) in their own sessions, and their pids are the ones
# this script started; proctrack/linuxproc and task/none need no cgroups;
# no accounting; MailProg=/bin/true. Runs as root (installs, SlurmUser).
set -eu
S=$(mkdir -p "${SLURM_STATE:-build/slurm-cluster}" && cd "${SLURM_STATE:-build/slurm-cluster}" && pwd)
CONF=$S/slurm.conf
export SLURM_CONF=$CONF
PORT=${SLURM_PORT:-16817}   # ctld; slurmd uses PORT+1 (not the defaults: a real cluster may be here)
say() { echo "slurm-cluster: $*"; }
die() { echo "slurm-cluster: $*" >&2; exit 1; }

alive() { # PIDFILE: a live (not zombie) process
    [ -s "$1" ] || return 1
    st=$(awk '/^State:/ {print $2}' "/proc/$(cat "$1")/status" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

install() {
    sh ci/deps.sh slurmctld slurmd slurm-client munge > "$S/apt.log" 2>&1 || die "installing failed: $(cat "$S/apt.log")"
}

write_conf() {
    host=$(hostname -s)
    node=$(slurmd -C | grep '^NodeName=' | sed "s/^NodeName=[^ ]*/NodeName=$host/")
    [ -n "$node" ] || die "slurmd -C gave no node line"
    mkdir -p "$S/ctld" "$S/spool" "$S/munge"
    : > "$S/plugstack.conf"
    cat > "$CONF" <<EOF
# written by ci/slurm_cluster.sh: one node, this machine
ClusterName=bruno
SlurmctldHost=$host
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$S/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$S/ctld
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid.own
SlurmdPidFile=$S/slurmd.pid.own
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd.log
PlugStackConfig=$S/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MailProg=/bin/true
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=10
KillWait=5
SlurmdTimeout=60
$node State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

start() {
    if alive "$S/slurmctld.pid" && alive "$S/slurmd.pid"; then say "already running ($CONF)"; return 0; fi
    stop > /dev/null 2>&1 || true
    install
    write_conf
    if [ ! -s "$S/munge/munge.key" ]; then
        dd if=/dev/urandom of="$S/munge/munge.key" bs=1024 count=1 2> /dev/null
    fi
    chmod 700 "$S/munge"; chmod 400 "$S/munge/munge.key"
    setsid munged -F --force --key-file="$S/munge/munge.key" --socket="$S/munge/munge.socket" \
        --pid-file="$S/munge/munged.pid.own" --log-file="$S/munge/munged.log" --seed-file="$S/munge/seed" \
        < /dev/null > "$S/munged.out" 2>&1 &
    echo $! > "$S/munged.pid"
    i=0
    until [ -S "$S/munge/munge.socket" ]; do
        i=$((i + 1)); [ $i -lt 100 ] || die "munged did not start, see $S/munge/munged.log $S/munged.out"; sleep 0.1
    done
    setsid slurmctld -D -c -f "$CONF" < /dev/null > "$S/slurmctld.out" 2>&1 &
    echo $! > "$S/slurmctld.pid"
    setsid slurmd -D -f "$CONF" < /dev/null > "$S/slurmd.out" 2>&1 &
    echo $! > "$S/slurmd.pid"
    i=0
    while :; do
        st=$(sinfo -h -N -o %T 2> /dev/null | head -1) || true
        [ "$st" = idle ] && break
        for d in munged slurmctld slurmd; do
            alive "$S/$d.pid" || die "$d stopped, see $S/$d.log $S/$d.out"
        done
        i=$((i + 1)); [ $i -lt 120 ] || die "the node is not idle after 60 s (state '$st'), see $S/*.log"
        sleep 0.5
    done
    say "up: node $(hostname -s) idle; munged $(cat "$S/munged.pid"), slurmctld $(cat "$S/slurmctld.pid"), slurmd $(cat "$S/slurmd.pid")"
    say "use it with: export SLURM_CONF=$CONF"
}

stop() {
    # slurmd before slurmctld before munged; each by the pid this script started
    for d in slurmd slurmctld munged; do
        [ -s "$S/$d.pid" ] || continue
        pid=$(cat "$S/$d.pid")
        if alive "$S/$d.pid"; then
            kill "$pid" 2> /dev/null || true
            i=0
            while alive "$S/$d.pid"; do
                i=$((i + 1))
                if [ $i -ge 100 ]; then kill -9 "$pid" 2> /dev/null || true; fi
                [ $i -lt 120 ] || die "$d ($pid) does not stop"
                sleep 0.1
            done
            say "stopped $d ($pid)"   # a zombie until its parent reaps it: counted as stopped
        fi
        rm -f "$S/$d.pid"
    done
}

status() {
    for d in munged slurmctld slurmd; do
        if alive "$S/$d.pid"; then say "$d running ($(cat "$S/$d.pid"))"; else say "$d not running"; fi
    done
    alive "$S/slurmctld.pid" && sinfo -N || true
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    env) echo "export SLURM_CONF=$CONF" ;;
    *) die "usage: $0 start|stop|status|env" ;;
esac
