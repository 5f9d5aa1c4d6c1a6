#!/bin/sh
# Train the GPU schedule on a lent GPU machine (the device tool), in about 9 minutes.
#
#   scripts/train_device.sh PACK_DIR OUT_DIR [MINUTES]
#
# PACK_DIR holds pack.tar from `python -m scripts.training.pack` (carried: the machine
# fetches nothing); the weights, their loss curve and the run's checkpoint land in
# OUT_DIR. Wheels in .whl/ (pure-Python dependencies the machine lacks, such as
# defusedxml) are installed first. TMSEARCH_SCHEDULE picks another schedule (the tests
# run "smoke" on a CPU); PYTHON another interpreter.
set -eu
PACK=${1:?usage: scripts/train_device.sh PACK_DIR OUT_DIR [MINUTES]}
OUT=${2:?usage: scripts/train_device.sh PACK_DIR OUT_DIR [MINUTES]}
MINUTES=${3:-8}
SCHEDULE=${TMSEARCH_SCHEDULE:-gpu}
PY=${PYTHON:-python3}
if [ ! -f "$PACK/pack.tar" ]; then
    echo "error: $PACK/pack.tar not found: run python -m scripts.training.pack first" >&2
    exit 2
fi
if ls .whl/*.whl >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
        --target /tmp/tmsearch-site .whl/*.whl
    PYTHONPATH=/tmp/tmsearch-site:${PYTHONPATH:-}
    export PYTHONPATH
fi
DATA=$(mktemp -d)
trap 'rm -rf "$DATA"' EXIT
tar -xf "$PACK/pack.tar" -C "$DATA"
[ -f "$PACK/LICENSES.md" ] && cp "$PACK/LICENSES.md" "$DATA/"
mkdir -p "$OUT"
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
PYTHONUNBUFFERED=1 "$PY" -m scripts.train --data "$DATA/manifest.jsonl" \
    --schedule "$SCHEDULE" --max-minutes "$MINUTES" --checkpoint-minutes 2 \
    --out "$OUT/run" --weights "$OUT/tmsearch-embedder.pt"
