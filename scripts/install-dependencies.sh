#!/usr/bin/env bash
# Installs the Debian packages absLRP-Swift builds against, if any is missing:
# OpenBLAS (sgemm), oneDNN (convolutions; libdnnl-dev, with libgomp), libpng and libjpeg-turbo (images), zlib (gzipped IDX data
# sets), glibc's vector maths library libmvec (GELU; in libc6-dev),
# pkg-config; librsvg and cairo (figures: SVG to PNG) with the DejaVu fonts
# the figures are set in; and Fashion-MNIST for the accuracy tests and GAE examples.
set -euo pipefail
packages=(libopenblas-dev libdnnl-dev liblapacke-dev libpng-dev libjpeg-dev zlib1g-dev libc6-dev pkg-config librsvg2-dev libcairo2-dev fonts-dejavu-core dataset-fashion-mnist)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
