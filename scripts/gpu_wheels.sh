#!/usr/bin/env bash
# Fill .whl/ (git-ignored) with the wheels a GPU machine without network needs beside its own image
# (Python 3.12; the image has torch, accelerate, safetensors, click, rich, annotated-doc, ...): a newer
# diffusers (the Wan models), typer with its pydantic, importlib_metadata for diffusers. typing_extensions
# goes to .whl/fallback/, installed there only when the imports fail with the image's own copy.
#
#   bash scripts/gpu_wheels.sh     # then carry .whl to the device; scripts/train_stage.sh installs it
set -euo pipefail
cd "$(dirname "$0")/.."
exclude="$(git rev-parse --git-common-dir)/info/exclude"
grep -qx '/.whl/' "$exclude" 2>/dev/null || echo /.whl/ >> "$exclude"
platforms=(--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)
fetch() {
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    "${platforms[@]}" -d "$@"
}
fetch .whl diffusers==0.42.1 importlib_metadata==8.7.0 zipp==4.1.2 typer==0.29.2 click==8.5.1 shellingham==1.5.4 \
  rich==15.0.0 markdown-it-py==4.3.0 mdurl==0.1.2 pygments==2.21.0 pydantic==2.13.4 pydantic_core==2.46.4 \
  annotated-types==0.7.0 typing-inspection==0.4.2 annotated-doc==0.0.7
fetch .whl/fallback typing_extensions==4.16.0
du -sh .whl
