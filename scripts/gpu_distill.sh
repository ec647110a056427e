#!/usr/bin/env bash
# Lyra's self-distillation A/B on one GPU machine with no network: three fine-tunes of one decoder ($INIT,
# default weights/decoder, itself already distilled on the CPU) side by side for the same minutes, at the
# scene's 128 px, batch 8 (the CPU A/B at batch 2: benchmarks/results/decoder_distill_val.md):
#   gt        - more steps on GT world clips only (the control: more steps alone);
#   distill   - Lyra's second phase: the generator's clips of training photos only, the VAE-decoded frames and
#               the geometry net's depth of them the teacher (data.generated_fraction=1);
#   mixed     - half of each batch from each.
# A one-step run first renders the GT clip bank and generates the self-distillation clips into the shared cache,
# so the clock of the three runs starts together; their minutes are what is left of BUDGET seconds after it.
# Copies each exported model to $OUT/NAME and each run's metrics and log tail to $OUT/summary.txt (a device run
# returns at most 8 files).
#
#   [INIT=DIR] bash scripts/gpu_distill.sh [BUDGET_SECONDS] [POOL]    # carry .whl (scripts/gpu_wheels.sh fills it)
set -uo pipefail
budget=${1:-540}
pool=${2:-32}
start=$(date +%s)
source scripts/gpu_site.sh || exit 1
common=(--preset tiny --init-from "${INIT:-weights/decoder}" --batch-size 8 --set data.size=128 --set data.train_pool=32
        --set "data.generated_pool=$pool" --set optim.lr=2e-4 --set optim.warmup_steps=10 --set loop.eval_every=25)
out=${OUT:-runs}
mkdir -p "$out"
python3 -m genscene.cli train decoder "${common[@]}" --out /tmp/genscene-run/warm --steps 1 \
  --set data.generated_fraction=1 >/tmp/prepare.log 2>&1 || { tail -n 20 /tmp/prepare.log; exit 1; }
echo "banks ready after $(( $(date +%s) - start )) s"
minutes=$(python3 -c "print(max(0.5, ($budget - ($(date +%s) - $start) - 75) / 60))")
echo "training $minutes minutes each"
train() {  # NAME FRACTION
  local name=$1 run=/tmp/genscene-run/$1
  mkdir -p "$out/$name"
  python3 -m genscene.cli train decoder "${common[@]}" --out "$run" --minutes "$minutes" \
    --set "data.generated_fraction=$2" >"/tmp/$name.log" 2>&1
  cp "$run"/model/config.json "$run"/model/model.safetensors "$out/$name"/ 2>/dev/null
  { echo "== $name"; cat "$run/metrics.json"; grep -v '^\[transformers\]' "/tmp/$name.log" | tail -n 40; } \
    >"/tmp/$name.summary"
}
train gt 0 &
train distill 1 &
train mixed 0.5 &
wait
cat /tmp/{gt,distill,mixed}.summary >"$out/summary.txt"
tail -n 12 /tmp/prepare.log
ls -la "$out"/*
