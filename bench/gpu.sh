#!/usr/bin/env bash
# Everything this repository measures on a GPU, in one call (a machine with torch, pytest,
# torchvision, torchmetrics and matplotlib; papermill is not needed):
#   the GPU tests, the GAN study (scripts/gan_study.py: ablation or seeds), the GAN's kernel
#   profile, and the GAN and VAE speed benchmarks.
# Usage: bench/gpu.sh OUT_DIR [STUDY_EPOCHS] [STUDY]   (the data sets in $GENLAB_DATA or data/)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bench/gpu.sh OUT_DIR [STUDY_EPOCHS]}
epochs=${2:-40}
study=${3:-ablation}
mkdir -p "$out"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
python3 -c "import torch; print(torch.__version__, torch.cuda.get_device_name())"
python3 -m genlab data fetch || exit 1
# a smoke run of the CUDA-graph path before the long parts
python3 - <<'PY' || { echo "smoke run failed: no study, no benchmarks"; exit 1; }
from genlab.train.gan import train_gan
run = train_gan(run_dir="/tmp/smoke", conditional=True, train_limit=2048, epochs=2,
                eval_samples=0, progress=False)
assert run.status == "complete" and run.metrics["device"] == "cuda", run.metrics["status"]
print("smoke:", [round(e["generator_loss"], 3) for e in run.metrics["epochs"]])
PY
OMP_NUM_THREADS=1 python3 scripts/gan_study.py run --out "$out/study" --epochs "$epochs" \
  --parallel 16 --study "$study" >"$out/study.log" 2>&1 &
study_pid=$!
timeout 240 python3 -m pytest -q -x -p no:cacheprovider tests/test_gpu.py \
  tests/test_changed_models.py 2>&1 | tee "$out/gpu_tests.log"
wait $study_pid
python3 scripts/gan_study.py table --study "$study" "$out/study" | tee "$out/study.md"
# the study's run folders, without checkpoints, in one archive
tar czf "$out/study.tgz" --exclude=checkpoint.pt -C "$out" study && rm -rf "$out/study"
timeout 60 python3 bench/profile_gan.py | tee "$out/profile_gan.txt"
timeout 150 python3 bench/bench_gan.py --device cuda --repeats 1 --epochs 3 | tee "$out/bench_gan.txt"
timeout 120 python3 bench/bench_vae.py --device cuda --repeats 2 --epochs 3 | tee "$out/bench_vae.txt"
