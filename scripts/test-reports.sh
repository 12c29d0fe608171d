#!/usr/bin/env bash
# Renders every kind of run report (explain, evaluate, merge, check) in
# headless Chromium and checks the screenshots and that every picture loads
# (ReportRenderingTests). Installs Debian's chromium if it is missing.
# Bounded: each Chromium call is killed after 90 s; the whole step takes
# about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
    echo "installing: chromium" >&2
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi
ABSLRP_CHROMIUM="$(command -v chromium)" timeout 900 swift test --filter ReportRenderingTests
