#!/bin/bash
# A live test of scripts/slurm/gae.sh on a one-node Slurm cluster started
# here, on 127.0.0.1 only:
#  1. installs Debian's slurm-wlm and munge if missing (needs root: the
#     daemons run as root with all their state under a temporary folder);
#  2. starts munged (own key and socket), slurmctld and slurmd for this machine;
#  3. submits a GAE of the bundled ResNet on 128 Fashion-MNIST images over 4
#     shards (4 batches each), requeues one running task with
#     `scontrol requeue` and makes another requeue itself as at its time limit
#     (USR1 to the batch shell), each after its first journaled batch;
#  4. waits for the merge job, checks that both requeued shards resumed (their
#     journals kept the records written before the kill) and that the merged
#     results equal a one-process run's exactly;
#  5. stops the daemons it started (on any exit).
# Prints the timings. Bounded: each wait has a timeout; the whole test takes
# well under 5 minutes.
#
#   scripts/test-slurm.sh            # builds abslrp (debug) unless ABSLRP=path is set
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
t0=$(date +%s.%N)
since() { printf '%.1f' "$(echo "$(date +%s.%N) - $1" | bc)"; }
say() { echo "test-slurm: $*"; }
fail() { echo "test-slurm: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root (it starts slurmctld, slurmd and munged)"
if ! command -v slurmctld > /dev/null || ! command -v slurmd > /dev/null || ! command -v sbatch > /dev/null \
        || ! command -v munged > /dev/null || ! command -v bc > /dev/null; then
    say "installing slurm-wlm, munge, bc"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge bc > /dev/null
fi

if [ -z "${ABSLRP:-}" ]; then
    say "building abslrp"
    swift build --product abslrp 2>&1 | tail -1
    ABSLRP=$(swift build --show-bin-path)/abslrp
fi
[ -x "$ABSLRP" ] || fail "no abslrp at $ABSLRP"

work=$(mktemp -d /tmp/abslrp-slurm.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
    local status=$?
    command -v scancel > /dev/null && [ -f "$work/slurm.conf" ] && SLURM_CONF=$work/slurm.conf scancel --user=root 2> /dev/null || true
    for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2> /dev/null || true
    done
    if [ "$status" != 0 ]; then
        for log in "$work"/*.log "$work"/gae/logs/*.log; do
            [ -f "$log" ] && { echo "--- $log"; tail -20 "$log"; }
        done
        echo "test-slurm: state kept in $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

# munge: its own key, socket, pid, seed and log files under $work.
mkdir -m 755 "$work/munge"
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$work/munge/munge.key"
socket=$work/munge/munge.socket
mkdir -p /run/munge
munged --force --foreground --socket="$socket" --key-file="$work/munge/munge.key" --log-file="$work/munged.log" \
    --pid-file="$work/munge/munged.pid" --seed-file="$work/munge/munged.seed" > "$work/munged.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -S "$socket" ] && break; sleep 0.1; done
[ -S "$socket" ] || fail "munged did not start"

# One node: this machine as slurmd -C sees it, reached on 127.0.0.1.
node=$(hostname -s)
hardware=$(slurmd -C | head -1 | sed "s/^NodeName=[^ ]*//")
port=$((20000 + RANDOM % 20000))
mkdir -p "$work/state" "$work/spool"
cat > "$work/slurm.conf" <<CONF
ClusterName=abslrptest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=600
KillWait=5
NodeName=$node NodeAddr=127.0.0.1 $hardware State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$work/slurm.conf
slurmctld -D -i -f "$SLURM_CONF" > "$work/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" -N "$node" > "$work/slurmd.out" 2>&1 &
pids+=($!)
for _ in $(seq 300); do
    state=$(sinfo -h -n "$node" -o %t 2> /dev/null || true)
    [ "$state" = idle ] && break
    sleep 0.1
done
[ "$state" = idle ] || fail "the node did not come up (state '$state')"
say "slurm up in $(since "$t0") s: node $node ($hardware), controller 127.0.0.1:$port"

job_field() { scontrol -o show job "$1" 2> /dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...: until COMMAND succeeds
    local limit=$1 what=$2 start
    start=$(date +%s)
    shift 2
    until "$@"; do
        [ $(( $(date +%s) - start )) -lt "$limit" ] || fail "timed out after $limit s waiting for $what"
        sleep 0.2
    done
}
journal_lines() { [ -f "$1" ] && wc -l < "$1" || echo 0; }
journaled() { [ "$(journal_lines "$1")" -ge "$2" ]; }
running() { [ "$(job_field "$1" JobState)" = RUNNING ]; }

# The run: 16 batches of 8 over 4 shards; one CPU and one BLAS thread a task.
options=(--model resnet_fmnist --dataset fashion-mnist-test --limit 128 --batch-size 8 --steps 6 --methods abslrp,random)
t_submit=$(date +%s.%N)
submitted=$(scripts/slurm/gae.sh --shards 4 --out "$work/gae" --cpus 1 --grace 30 --abslrp "$ABSLRP" -- "${options[@]}")
array_job=$(echo "$submitted" | sed -n 's/^array_job=//p')
merge_job=$(echo "$submitted" | sed -n 's/^merge_job=//p')
[ -n "$array_job" ] && [ -n "$merge_job" ] || fail "gae.sh printed no job ids: $submitted"
say "submitted array job $array_job and merge job $merge_job"

# Shard 0: requeued by the administrator once its first batch is journaled.
# Shard 1: told its time limit is near (USR1 to its batch shell) once its first
# batch is journaled; it requeues itself.
declare -A kept
signaller=
interrupt() {
    local k=$1 journal=$work/gae/shard-$1/journal.gae
    wait_for 120 "shard $k's first batch" journaled "$journal" 2
    running "${array_job}_$k" || fail "shard $k finished before it could be interrupted"
    if [ "$k" = 0 ]; then
        scontrol requeue "${array_job}_0"
    else
        # scancel goes on retrying while the task requeues itself: stopped below.
        scancel --batch --signal=USR1 "${array_job}_1" > /dev/null 2>&1 &
        signaller=$!
    fi
}
# Requeued and back in the queue (or already running again).
requeued() {
    [ "$(job_field "$1" Restarts)" -ge 1 ] || return 1
    case $(job_field "$1" JobState) in PENDING|RUNNING|COMPLETED) return 0 ;; *) return 1 ;; esac
}
interrupt 0
interrupt 1
for k in 0 1; do
    wait_for 60 "shard $k to be requeued" requeued "${array_job}_$k"
    [ "$k" = 0 ] || { kill "$signaller" 2> /dev/null || true; }
    # A requeued task waits for a begin time about two minutes ahead; let it start now.
    if [ "$(job_field "${array_job}_$k" JobState)" = PENDING ]; then
        scontrol update JobId="${array_job}_$k" StartTime=now || fail "cannot release shard $k"
    fi
    journal=$work/gae/shard-$k/journal.gae
    kept[$k]=$(journal_lines "$journal")
    head -n "${kept[$k]}" "$journal" > "$work/shard-$k.kept"
    say "shard $k requeued after $((kept[$k] - 1)) of 4 batches ($(since "$t_submit") s after submission)"
done

merge_done() {
    local state
    state=$(job_field "$merge_job" JobState)
    case $state in
        COMPLETED) return 0 ;;
        FAILED|CANCELLED|TIMEOUT|OUT_OF_MEMORY|NODE_FAIL) fail "merge job $merge_job ended $state" ;;
        *) return 1 ;;
    esac
}
wait_for 240 "the merge job" merge_done
t_merged=$(since "$t_submit")
say "merge job done $t_merged s after submission"

for k in 0 1; do
    restarts=$(job_field "${array_job}_$k" Restarts)
    [ "$restarts" = 1 ] || fail "shard $k was requeued $restarts times, not once"
    # A resumed shard keeps the journal records written before the interruption.
    head -n "${kept[$k]}" "$work/gae/shard-$k/journal.gae" | cmp -s - "$work/shard-$k.kept" \
        || fail "shard $k started afresh instead of resuming"
    [ "$(journal_lines "$work/gae/shard-$k/journal.gae")" = 5 ] || fail "shard $k's journal is not complete"
    say "shard $k: resumed after batch $((kept[$k] - 2)), its ${kept[$k]} journal records before the requeue kept"
done
grep -h '^gae-shard:' "$work"/gae/logs/shard-[01].log | sed 's/^/test-slurm: log: /'

t_single=$(date +%s.%N)
OPENBLAS_NUM_THREADS=1 "$ABSLRP" evaluate "${options[@]}" --out "$work/single" > /dev/null 2>&1
say "one-process run: $(since "$t_single") s"
cmp "$work/gae/results.csv" "$work/single/results.csv" || fail "merged results.csv differs from the one-process run"
without_timing() { sed '/"throughput" : {/,/}/d' "$1"; }
cmp <(without_timing "$work/gae/results.json") <(without_timing "$work/single/results.json") \
    || fail "merged results.json differs from the one-process run (beyond the timing)"
[ "$(wc -l < "$work/gae/results.csv")" = $((16 * 2 * 2 + 1)) ] || fail "merged results.csv has the wrong number of rows"
say "merged results equal the one-process run's exactly (results.csv and results.json but its throughput)"
say "PASSED in $(since "$t0") s"
