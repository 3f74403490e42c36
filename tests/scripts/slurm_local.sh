#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A single-node Slurm cluster on this machine, for the scale-out test (docs/scale-out.md):
# munged as the munge user with its own key and socket, slurmctld and slurmd as root, every file
# under DIR, no cgroups (proctrack/linuxproc, task/none).
#
#   slurm_local.sh start DIR   writes DIR/slurm.conf, starts the daemons, waits until the node is idle
#   slurm_local.sh stop DIR    stops what start started, by the pids it recorded
#
# Clients then need SLURM_CONF=DIR/slurm.conf. Exit status 77 from start: Slurm cannot run here
# (packages missing, not root, a daemon did not come up); the reason is on stderr, the daemons'
# logs are in DIR, and whatever did start is stopped.
set -euo pipefail
cmd="${1:-}"
dir="${2:-}"
[ -n "$dir" ] || { echo "usage: slurm_local.sh start|stop DIR" >&2; exit 2; }

stop() {
  for f in slurmd slurmctld munge/munged; do
    [ -s "$dir/$f.pid" ] || continue
    pid="$(cat "$dir/$f.pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
}
skip() {
  echo "slurm_local.sh: SKIP: $*" >&2
  stop
  exit 77
}
case "$cmd" in
  stop) stop; exit 0 ;;
  start) ;;
  *) echo "usage: slurm_local.sh start|stop DIR" >&2; exit 2 ;;
esac

for b in munged slurmctld slurmd sbatch sinfo squeue; do
  command -v "$b" >/dev/null || skip "$b is missing (scripts/deps.sh slurm installs slurm-wlm and munge)"
done
[ "$(id -u)" -eq 0 ] || skip "the daemons run as root here, and this is uid $(id -u)"
id munge >/dev/null 2>&1 || skip "no munge user (the munge package creates it)"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
# The munge user must reach its directory (mktemp -d makes 0700 directories).
chmod 0755 "$dir"
[ "$(runuser -u munge -- test -x "$dir" && echo yes)" = yes ] || skip "the munge user cannot reach $dir (a parent directory is closed)"
# munged wants its key and socket directory owned by the munge user and closed to others.
install -d -o munge -g munge -m 0700 "$dir/munge"
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chown munge:munge "$dir/munge/munge.key"
chmod 0400 "$dir/munge/munge.key"
timeout 20 runuser -u munge -- munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" ||
  skip "munged did not start (see $dir/munge/munged.log)"

# Free ports for the controller and the node daemon.
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
host="$(hostname -s)"
mkdir -p "$dir/state" "$dir/spool"
cat > "$dir/slurm.conf" <<CONF
ClusterName=tlbsimlocal
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$(port)
SlurmdPort=$(port)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"
timeout 30 slurmctld -f "$SLURM_CONF" -i || skip "slurmctld did not start (see $dir/slurmctld.log)"
timeout 30 slurmd -f "$SLURM_CONF" -N "$host" || skip "slurmd did not start (see $dir/slurmd.log)"
state=""
for _ in $(seq 60); do
  state="$(timeout 5 sinfo -h -N -o %t 2>/dev/null | head -1 || true)"
  [ "$state" = idle ] && exit 0
  sleep 0.5
done
skip "the node did not become idle within 30 s (state '${state:-none}'; see $dir/slurmctld.log and $dir/slurmd.log)"
