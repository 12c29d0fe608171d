#!/bin/bash
# GAE over a Slurm cluster: an array job of N shards and a merge job that
# runs once every shard has succeeded (docs/gae-scale-out.md).
#
#   scripts/slurm/gae.sh --shards N --out DIR [options] -- <abslrp evaluate options>
#
# Task K (0-based, = SLURM_ARRAY_TASK_ID, --array=0-(N-1)) runs
#   abslrp evaluate <options> --shard K/N --out DIR/shard-K --resume
# (scripts/slurm/gae-shard.sbatch); it is requeue-able and resumes after its
# last journaled batch. The merge job (--dependency=afterok:<array>) runs
#   abslrp merge DIR/shard-0 ... DIR/shard-(N-1) --out DIR
# Logs go to DIR/logs. Prints the job ids as `array_job=ID` and `merge_job=ID`.
#
# Options (defaults in brackets):
#   --shards N          number of shards, one array task each (required)
#   --out DIR           results folder on storage every node sees (required)
#   --partition P       partition of both jobs [the cluster's default]
#   --time T            time limit per task, sbatch's formats [the partition's]
#   --cpus C            CPUs per task; each task runs OPENBLAS_NUM_THREADS=C [2]
#   --mem M             memory per task, sbatch's units (4G, 16000M) [estimated, see below]
#   --max-running K     at most K tasks at once (--array=0-(N-1)%K) [no limit]
#   --grace S           seconds before the time limit at which a task requeues
#                       itself to resume in a new allocation [300]
#   --abslrp PATH       the abslrp executable, on every node [abslrp on PATH, else
#                       this checkout's .build/release/abslrp]
#   --job-name NAME     [gae]
#   --sbatch ARG        one more sbatch argument for both jobs, repeatable
#                       (e.g. --sbatch --account=proj --sbatch --qos=long)
#   --dry-run           print the sbatch commands instead of submitting
#
# Memory (when --mem is not given): `abslrp evaluate <options> --estimate-memory`
# (an upper estimate from the model family's MemoryEstimate for a batch, plus
# the images GAE holds: the batch, its mosaics, every step's masked inputs)
# plus 512 MiB for the process, rounded up to 256 MiB. E.g. batch 32, 10 steps:
# ResNet-50 9728M, VGG-16 5632M, ViT-B/16 11008M; the bundled models 768M.
set -euo pipefail

die() { echo "gae.sh: $*" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

shards= out= partition= time_limit= cpus=2 mem= max_running= grace=300 abslrp= job_name=gae dry_run=0
extra=()
while [ $# -gt 0 ]; do
    case $1 in
        --shards) shards=${2:?}; shift 2 ;;
        --out) out=${2:?}; shift 2 ;;
        --partition) partition=${2:?}; shift 2 ;;
        --time) time_limit=${2:?}; shift 2 ;;
        --cpus) cpus=${2:?}; shift 2 ;;
        --mem) mem=${2:?}; shift 2 ;;
        --max-running) max_running=${2:?}; shift 2 ;;
        --grace) grace=${2:?}; shift 2 ;;
        --abslrp) abslrp=${2:?}; shift 2 ;;
        --job-name) job_name=${2:?}; shift 2 ;;
        --sbatch) extra+=("${2:?}"); shift 2 ;;
        --dry-run) dry_run=1; shift ;;
        --) shift; break ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option $1 (abslrp evaluate options go after --)" ;;
    esac
done
evaluate=("$@")

positive() { [[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 must be a positive integer, got '$2'"; }
[ -n "$shards" ] || die "--shards N is required"
positive --shards "$shards"
[ -n "$out" ] || die "--out DIR is required"
positive --cpus "$cpus"
positive --grace "$grace"
[ -z "$max_running" ] || positive --max-running "$max_running"
for option in "${evaluate[@]}"; do
    case $option in
        --shard|--shard=*|--out|--out=*|--resume) die "$option is set by gae.sh for each task; leave it out" ;;
    esac
done

# The executable every node runs (an absolute path on shared storage).
if [ -z "$abslrp" ]; then
    if command -v abslrp > /dev/null; then abslrp=$(command -v abslrp)
    elif [ -x "$repo/.build/release/abslrp" ]; then abslrp=$repo/.build/release/abslrp
    else die "no abslrp on PATH and no $repo/.build/release/abslrp: build it (swift build -c release) or give --abslrp"
    fi
fi
[ -x "$abslrp" ] || die "--abslrp $abslrp is not an executable"
abslrp=$(realpath "$abslrp")
mkdir -p "$out/logs"
out=$(realpath "$out")

# The memory estimate (see the header): abslrp reads the model's configuration
# and the data set now, so a wrong option fails here rather than in every task.
if [ -z "$mem" ]; then
    estimate=$("$abslrp" evaluate "${evaluate[@]}" --estimate-memory) || die "abslrp evaluate refused the options above"
    [[ $estimate =~ ^[0-9]+$ ]] || die "abslrp evaluate --estimate-memory printed '$estimate'"
    mem="$(( (estimate + 512 + 255) / 256 * 256 ))M"
fi

common=(--job-name="$job_name" --chdir="$PWD" --parsable "${extra[@]}")
[ -z "$partition" ] || common+=(--partition="$partition")
array="0-$((shards - 1))${max_running:+%$max_running}"
task_options=(--array="$array" --cpus-per-task="$cpus" --mem="$mem" --requeue --signal="B:USR1@$grace"
              --open-mode=append --output="$out/logs/shard-%a.log"
              --export="ALL,OPENBLAS_NUM_THREADS=$cpus")
[ -z "$time_limit" ] || task_options+=(--time="$time_limit")
shard_folders=()
for ((k = 0; k < shards; k++)); do shard_folders+=("$out/shard-$k"); done
merge_command=$(printf '%q ' "$abslrp" merge "${shard_folders[@]}" --out "$out")

submit() {
    if [ "$dry_run" = 1 ]; then printf '%q ' sbatch "$@" >&2; echo >&2; echo DRYRUN; return; fi
    local id
    id=$(sbatch "$@") || die "sbatch failed"
    echo "${id%%;*}"
}
array_job=$(submit "${common[@]}" "${task_options[@]}" "$here/gae-shard.sbatch" "$abslrp" "$shards" "$out" "${evaluate[@]}")
merge_job=$(submit "${common[@]}" --job-name="$job_name-merge" --dependency="afterok:$array_job" --kill-on-invalid-dep=yes \
                   --cpus-per-task=1 --mem=4G ${time_limit:+--time=$time_limit} --output="$out/logs/merge.log" \
                   --wrap="exec $merge_command")
echo "gae.sh: $shards shards of $cpus CPUs and $mem each; results in $out/shard-K, merged report in $out, logs in $out/logs" >&2
echo "array_job=$array_job"
echo "merge_job=$merge_job"
