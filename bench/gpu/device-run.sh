#!/usr/bin/env bash
# The GPU checks of issue 16 in one run on a lent GPU machine (prepared here, where no GPU is; device
# time is scarce: at most ~9 minutes in all, every step under its own timeout, killed 10 s after it
# if it ignores the TERM; give the run timeout_s 600). Before: `bash
# scripts/gpu-payload.sh` here; then the device tool's run with carry ["gpu-payload"] and the command
# `bash bench/gpu/device-run.sh`. Writes to $OUT (what comes back: at most 8 files), else to
# /tmp/gpu-out: summary.txt (each check's last lines, also on stdout) and logs.txt (every check's whole log).
#   1. the machine: nvidia-smi, whether Dawn finds a hardware adapter
#   2. one training step on wasm (one thread) and webgpu, at the shipped model and at vit-tiny, and
#      vit-tiny on webgpu with the tfjs op chains (FEDLORA_WEBGPU_KERNELS=tfjs): the 20x goal
#   3. one vit-tiny step's kernels and dispatches (--profile)
#   4. the quick preset, 2 rounds, on webgpu and on wasm (clients/s; accuracies to compare)
#   5. GPU memory over 5 rounds of the shipped model (bench memory --rounds: it prints at the end)
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp/gpu-out}; mkdir -p "$out"
log() { echo "== $*" | tee -a "$out/summary.txt"; }
p=/tmp/gpu-payload
[ -f gpu-payload/payload.tar.xz ] || { echo "gpu-payload/payload.tar.xz missing: run scripts/gpu-payload.sh first and carry gpu-payload" >&2; exit 2; }
mkdir -p $p && python3 -c "import tarfile,sys; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" gpu-payload/payload.tar.xz $p || exit 2
# the Vulkan loader and GLVND into / (as the device tool's notes say); the X11 libraries the NVIDIA
# GLX library links against into a folder of their own, on LD_LIBRARY_PATH for the node processes only
if ! ldconfig -p | grep -q 'libvulkan.so.1 '; then
  for f in gpu-payload/debs/*.deb; do
    case $(basename "$f") in libvulkan1_*|libegl1_*|libglvnd0_*|libopengl0_*|libgl1_*|libglx0_*|libgles2_*) dpkg -x "$f" / ;; *) dpkg -x "$f" /tmp/gpu-libs ;; esac
  done
  ldconfig
fi
libs=/tmp/gpu-libs/usr/lib/x86_64-linux-gnu
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f $icd ] && export VK_DRIVER_FILES=$icd
egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
[ -f $egl ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$egl
export FEDLORA_CACHE=/tmp/fedlora-cache
node="env LD_LIBRARY_PATH=$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} $p/node"; bench="$node $p/bench.cjs"
run() { # name, timeout (s), command...
  local name=$1 t=$2; shift 2
  log "$name: $*"
  local t0=$SECONDS
  timeout -k 10 "$t" "$@" > "/tmp/gpu-check-$name.log" 2>&1; local rc=$?
  grep -v 'XDG_RUNTIME_DIR\|^$' "/tmp/gpu-check-$name.log" | tail -8 | tee -a "$out/summary.txt"
  { echo "===== $name: $*"; cat "/tmp/gpu-check-$name.log"; } >> "$out/logs.txt"
  log "$name: exit $rc in $((SECONDS - t0)) s"
}
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; uname -a; nproc; } 2>&1 | tee -a "$out/summary.txt"
run adapter 40 $bench backends --backends webgpu --model base --steps 1 --warmup 1
run base 45 $bench backends --backends wasm,webgpu --model base --steps 20 --warmup 5
# vit-tiny: one backend per check, so that a timeout on one keeps the other's figure
run vit-tiny-wasm 50 $bench backends --backends wasm --model vit-tiny --steps 5 --warmup 2
run vit-tiny 80 $bench backends --backends webgpu --model vit-tiny --steps 5 --warmup 2
run vit-tiny-opchains 60 env FEDLORA_WEBGPU_KERNELS=tfjs $bench backends --backends webgpu --model vit-tiny --steps 5 --warmup 2
run vit-tiny-profile 40 $bench backends --backends webgpu --model vit-tiny --steps 1 --warmup 1 --profile
run quick-webgpu 70 env FEDLORA_BACKEND=webgpu $node $p/fedlora.cjs run --config configs/quick.json --rounds 2 --out /tmp/gpu-runs
run quick-wasm 30 env FEDLORA_BACKEND=wasm $node $p/fedlora.cjs run --config configs/quick.json --rounds 2 --out /tmp/gpu-runs
run memory 55 $bench memory --backend webgpu --rounds 5 --clients 2
log "done"
