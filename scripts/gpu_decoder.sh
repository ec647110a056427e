#!/usr/bin/env bash
# Train the latent Gaussian decoder on one GPU machine with no network, from scratch, MINUTES each, three runs
# side by side on one GPU (small models leave it mostly idle) at the scene's 128 px: the default hybrid, and
# Lyra's two ablations, Transformer-only blocks and no depth loss. Copies each exported model and its
# metrics.json (+ the hybrid's log) to $OUT/NAME; $OUT/decoder is the one to commit under weights/decoder.
#
#   bash scripts/gpu_decoder.sh MINUTES     # carry .whl (scripts/gpu_wheels.sh fills it)
set -uo pipefail
minutes=${1:-6.5}
source scripts/gpu_site.sh || exit 1
train() {  # NAME [--set ...]
  local name=$1 run=/tmp/genscene-run/$1 out=${OUT:-runs}/$1
  shift
  mkdir -p "$out"
  python3 -m genscene.cli train decoder --preset tiny --out "$run" --minutes "$minutes" --batch-size 8 \
    --set data.size=128 --set data.train_pool=32 --set loop.eval_every=250 "$@" >"/tmp/$name.log" 2>&1
  cp "$run"/model/* "$run"/metrics.json "$out"/ 2>/dev/null
  echo "== $name"; grep -v '^\[transformers\]' "/tmp/$name.log" | tail -n 4
}
train decoder &
sleep 20  # the first run renders the shared bank under its lock
train decoder-transformer-only --set model.blocks=tttt &
train decoder-no-depth --set loss.depth=0 &
wait
cp /tmp/decoder.log "${OUT:-runs}/decoder/train.log"
ls -la "${OUT:-runs}"/*
