#!/usr/bin/env bash
# Train one stage on a fresh GPU machine with no network: install the carried wheels (.whl/),
# train (starting from the committed weights/STAGE when present), evaluate on held-out worlds,
# and copy the exported model + metrics JSON (resolved config inside) to $OUT/STAGE for
# committing under weights/STAGE. Several stages (or one stage at two presets) may run at once on one machine.
#
#   [PRESET=tiny] bash scripts/train_stage.sh STAGE MINUTES [NUM_GPUS] [extra `genscene train` options]
set -euo pipefail
stage=$1
minutes=$2
gpus=${3:-1}
shift 3 || shift $#
preset=${PRESET:-tiny}
name=$stage
if [ "$preset" != tiny ]; then name=$stage-$preset; fi  # e.g. vae and vae-wide side by side
out=${OUT:-runs}/$name
run=/tmp/genscene-run/$name
if compgen -G ".whl/*.whl" >/dev/null; then
  # one install shared by concurrent stages
  flock /tmp/genscene-site.lock bash -c '[ -f /tmp/site/.done ] || { python3 -m pip install -q --no-index --no-deps \
    --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && touch /tmp/site/.done; }'
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
init=()
if [ "$preset" = tiny ] && [ -f "weights/$stage/config.json" ]; then init=(--init-from "weights/$stage"); fi
export PYTHONUNBUFFERED=1
export GENSCENE_BANK_CACHE=${GENSCENE_BANK_CACHE:-/tmp/genscene-bank}  # stages side by side share one rendered bank
if [ "$gpus" -gt 1 ]; then
  port=$((29500 + $(printf %s "$name" | cksum | cut -d' ' -f1) % 1000))  # stages side by side need their own
  python3 -m accelerate.commands.launch --num_processes "$gpus" --multi_gpu --main_process_port "$port" -m genscene.cli \
    train "$stage" --preset "$preset" --out "$run" --minutes "$minutes" "${init[@]}" "$@"
else
  python3 -m genscene.cli train "$stage" --preset "$preset" --out "$run" --minutes "$minutes" "${init[@]}" "$@"
fi
mkdir -p "$out"
cp "$run"/model/* "$run"/metrics.json "$out"/
ls -la "$out"
