# Sourced by the decoder's GPU scripts: install the carried wheels (.whl/, scripts/gpu_wheels.sh fills it) into
# /tmp/site, falling back to .whl/fallback/ where the machine's Python needs other builds, and name the card.
# Returns non-zero when genscene's decoder cannot be imported afterwards.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  || return 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 GENSCENE_BANK_CACHE=/tmp/genscene-bank
if ! python3 -c "import genscene.cli, genscene.models.gaussian_decoder" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
    .whl/fallback/*.whl
  python3 -c "import genscene.cli, genscene.models.gaussian_decoder" || return 1
fi
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
