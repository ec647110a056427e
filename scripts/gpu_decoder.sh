#!/usr/bin/env bash
# Train the latent Gaussian decoder on one GPU machine with no network, at the scene's 128 px and at the
# preset's 64 px side by side (small models leave the GPU mostly idle), from scratch, for MINUTES each;
# copy each exported model, its metrics.json and its log to $OUT/decoder-SIZE for committing under weights/decoder.
#
#   bash scripts/gpu_decoder.sh MINUTES     # carry .whl (scripts/gpu_wheels.sh fills it)
set -uo pipefail
minutes=${1:-7}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 GENSCENE_BANK_CACHE=/tmp/genscene-bank
if ! python3 -c "import genscene.cli, genscene.models.gaussian_decoder" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/fallback/*.whl
  python3 -c "import genscene.cli, genscene.models.gaussian_decoder" || exit 1
fi
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
train() {  # SIZE BATCH
  local run=/tmp/genscene-run/decoder-$1 out=${OUT:-runs}/decoder-$1
  mkdir -p "$out"
  python3 -m genscene.cli train decoder --preset tiny --out "$run" --minutes "$minutes" --batch-size "$2" \
    --set data.size="$1" --set data.train_pool=32 --set loop.eval_every=250 >"$out/train.log" 2>&1
  cp "$run"/model/* "$run"/metrics.json "$out"/ 2>/dev/null
  tail -n 3 "$out/train.log"
}
train 128 8 &
train 64 16 &
wait
ls -la "${OUT:-runs}"/*
