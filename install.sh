#!/usr/bin/env bash
# Installs everything chatgpt-bridge needs on Linux or macOS, then runs what you ask:
#   ./install.sh                 install only
#   ./install.sh demo            install, then the offline demo (no account needed)
#   ./install.sh login           install, then log in to ChatGPT once in the window that opens
#   ./install.sh serve           install, then the bridge itself
#   ./install.sh test            install, then lint and the test suite
# Anything else is passed to `chatgpt-bridge` (e.g. `./install.sh ask "Hello"`).
# Idempotent: a second run only checks that everything is there.
set -euo pipefail
cd "$(dirname "$0")"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        say "need root for: $*"; return 1; fi
}

# Mirrors the bridge's own discovery order (browser/session.py): BROWSER_EXECUTABLE,
# BROWSER_CHANNEL (e.g. your Google Chrome), Playwright's Chromium, Debian's chromium.
find_browser() {
    [ -n "${BROWSER_EXECUTABLE:-}" ] && [ -x "$BROWSER_EXECUTABLE" ] && return 0
    [ -n "${BROWSER_CHANNEL:-}" ] && return 0
    for cache in "${PLAYWRIGHT_BROWSERS_PATH:-}" "$HOME/.cache/ms-playwright" \
        "$HOME/Library/Caches/ms-playwright"; do
        [ -n "$cache" ] && ls "$cache" 2>/dev/null | grep -q '^chromium-' && return 0
    done
    [ -x /usr/bin/chromium ]
}

install_browser() {
    find_browser && return 0
    if command -v apt-get >/dev/null; then
        say "installing Debian's chromium"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        say "installing Playwright's Chromium"
        poetry run playwright install chromium
    fi
}

install_poetry() {
    command -v poetry >/dev/null && return 0
    say "installing Poetry"
    python3 -m pip install --user --quiet poetry 2>/dev/null ||
        python3 -m pip install --user --quiet --break-system-packages poetry
    export PATH="$HOME/.local/bin:$PATH"
}

# Some package mirrors serve PyPI's simple index but not its JSON API, which `poetry install`
# needs. The fallback installs exactly the locked versions, hash-checked, with pip.
install_locked_with_pip() {
    say "poetry could not fetch packages; installing the same locked versions with pip"
    [ -x .venv/bin/python ] || python3 -m venv .venv
    python3 - > .venv/locked-requirements.txt <<'PY'
import tomllib
lock = tomllib.load(open("poetry.lock", "rb"))
for package in lock["package"]:
    hashes = " ".join(f"--hash={f['hash']}" for f in package["files"])
    markers = package.get("markers", "")
    if isinstance(markers, dict):  # per dependency group; any group is wanted here
        markers = " or ".join(f"({m})" for m in markers.values())
    when = f" ; {markers}" if markers else ""
    print(f"{package['name']}=={package['version']}{when} {hashes}")
PY
    .venv/bin/python -m pip install --quiet --disable-pip-version-check \
        --require-hashes --no-deps -r .venv/locked-requirements.txt
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . \
        2>/dev/null || .venv/bin/python -m pip install --quiet --no-deps -e .
}

install_dependencies() {
    poetry config virtualenvs.in-project true --local
    # --compile: bytecode now, once, not at every import (machines that set
    # PYTHONDONTWRITEBYTECODE would otherwise recompile LiteLLM, ~8 s, in every test process).
    if ! poetry install --quiet --compile 2>/dev/null; then install_locked_with_pip; fi
}

# chatgpt.com challenges headless browsers: without a screen the bridge runs the browser
# headed on a virtual display (Xvfb), shown to a person through noVNC (`login --remote`,
# `view`), so a Linux machine gets those from its packages too.
install_virtual_display() {
    command -v Xvfb >/dev/null && command -v x11vnc >/dev/null &&
        command -v websockify >/dev/null && [ -f /usr/share/novnc/vnc.html ] && return 0
    command -v apt-get >/dev/null || return 0
    say "installing Xvfb, x11vnc and noVNC (a virtual display for the browser, and a view of it)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        xvfb x11vnc novnc websockify >/dev/null
}

install_poetry
install_dependencies
install_browser
install_virtual_display

case "${1:-}" in
    "") say "installed. Try: ./install.sh demo" ;;
    # Two workers (pytest-xdist), a test file per worker: most browser tests wait on the
    # replica's timing, so two run in about the time of one on a 2-core machine.
    test) shift; poetry run ruff check . && poetry run lint-imports &&
        exec poetry run pytest -n 2 --dist loadfile "$@" ;;
    *) exec poetry run chatgpt-bridge "$@" ;;
esac
