#!/usr/bin/env bash
# Build gpu-payload/ (git-ignored): what a lent GPU machine needs to run bench/gpu/device-run.sh, since
# that machine has no Node.js, no node_modules and no network (the device tool's limit on what travels
# is 64 MiB). Run once here, then on the device machine: `bash bench/gpu/device-run.sh` with
# carry ["gpu-payload"].
#   payload.tar.xz  node (this machine's binary), bench.cjs and fedlora.cjs (bench/main.ts and the CLI
#                   bundled by esbuild, tfjs and the engine inside), and the files the bundles read
#                   outside themselves: tfjs-backend-wasm's .wasm and the webgpu package's linux-x64
#                   Dawn addon (external: a native addon cannot be bundled)
#   debs/           the Vulkan loader and the GLVND/X11 libraries the NVIDIA Vulkan driver needs
#                   (docs/performance.md, "Setting Dawn up there"), downloaded with apt-get
# Needs: npm ci done, apt-get (for the .debs; skipped with a message if it fails), xz.
set -euo pipefail
cd "$(dirname "$0")/.."
out=gpu-payload
rm -rf "$out" && mkdir -p "$out/debs"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
bundle() { # entry, output
  npx esbuild "$1" --bundle --platform=node --format=cjs --target=node20 --ignore-annotations \
    --external:webgpu --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
    --log-level=error --outfile="$stage/$2"
}
bundle bench/main.ts bench.cjs
bundle src/cli/main.ts fedlora.cjs
wasm=$stage/node_modules/@tensorflow/tfjs-backend-wasm
mkdir -p "$wasm/dist" "$stage/node_modules/webgpu/dist"
cp node_modules/@tensorflow/tfjs-backend-wasm/package.json "$wasm/"
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$wasm/dist/"
# require.resolve finds the package by its main file; the code itself is in the bundles
echo '// the bundles hold the code; the engine reads only the .wasm files beside this' > "$wasm/dist/tf-backend-wasm.node.js"
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$stage/node_modules/webgpu/"
cp -r node_modules/webgpu/dist/linux-x64 "$stage/node_modules/webgpu/dist/"
cp "$(command -v node)" "$stage/node"
tar -C "$stage" -cJf "$out/payload.tar.xz" node bench.cjs fedlora.cjs node_modules
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64-lists'
mkdir -p /tmp/amd64-lists/partial
if apt-get $o update -qq >/dev/null 2>&1 && (cd "$out/debs" && apt-get $o download -qq libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 libx11-6 libx11-xcb1 libxcb1 libxext6 libxau6 libxdmcp6 libbsd0 libmd0 >/dev/null 2>&1); then
  echo "debs: $(ls "$out/debs" | wc -l) packages"
else
  echo "could not download the Vulkan/GLVND .debs (no apt-get or no network): the device run will use the machine's own loader if it has one" >&2
fi
du -sh "$out" "$out"/*
