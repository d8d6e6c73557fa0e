#!/bin/sh
# The hermes installer: curl -fsSL <release site>/install.sh | sh
#
# Downloads the hermes binary for this machine from the release site, checks it against SHA256SUMS, runs it
# once, and installs it atomically. Everything below is a function and only the last line runs anything, so a
# download cut short is a syntax error, never half an install. Messages go to stderr; it never prompts.
#
#   HERMES_INSTALL_DIR       where to install (default ~/.local/bin, or /usr/local/bin as root)
#   HERMES_VERSION           a version to install instead of the latest (0.1.0 or v0.1.0)
#   HERMES_NO_MODIFY_PATH=1  leave shell startup files alone
#   HERMES_INSTALL_BASE_URL  another release site (https://, or http:// on a loopback host)
#   HERMES_TARGET            a build to install instead of the detected one (e.g. linux-x64-baseline)
#   HERMES_INSTALL_PRINT_TARGET=1  print the detected target and exit

# Set when a release is built (npm run release -- --base-url URL).
HERMES_RELEASE_BASE_URL=''

# Marks the lines this installer adds to shell startup files; `hermes uninstall` removes the lines carrying it.
PATH_MARKER='# added by the hermes installer'

say() {
  printf 'hermes-install: %s\n' "$*" >&2
}

fail() {
  say "error: $*"
  exit 1
}

need() {
  command -v "$1" >/dev/null 2>&1 || fail "this installer needs $1, which is not installed"
}

cleanup() {
  if [ -n "${staged:-}" ]; then rm -f "$staged"; fi
  if [ -n "${work:-}" ]; then rm -rf "$work"; fi
}

# Sets base: HERMES_INSTALL_BASE_URL, else the baked-in site; https only, http only for a loopback host.
resolve_base() {
  base=${HERMES_INSTALL_BASE_URL:-$HERMES_RELEASE_BASE_URL}
  if [ -z "$base" ]; then
    fail "this install.sh knows no release site (it was not built by a release): set HERMES_INSTALL_BASE_URL"
  fi
  while :; do
    case $base in
      */) base=${base%/} ;;
      *) break ;;
    esac
  done
  case $base in
    https://?*) ;;
    http://?*)
      host=${base#http://}
      host=${host%%/*}
      host=${host##*@}
      case $host in
        127.*|localhost|localhost:*|\[::1\]|\[::1\]:*) ;;
        *) fail "HERMES_INSTALL_BASE_URL $base is plain http on a host that is not loopback; use https://" ;;
      esac
      ;;
    *) fail "HERMES_INSTALL_BASE_URL $base is not an https:// URL" ;;
  esac
}

# Sets target: HERMES_TARGET, else <os>-<arch>[-baseline][-musl] of this machine.
detect_target() {
  if [ -n "${HERMES_TARGET:-}" ]; then
    case $HERMES_TARGET in
      *[!a-z0-9-]*) fail "HERMES_TARGET \"$HERMES_TARGET\" is not a target name (e.g. linux-x64)" ;;
    esac
    target=$HERMES_TARGET
    return
  fi
  need uname
  os=$(uname -s)
  arch=$(uname -m)
  case $os in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) fail "there is no hermes build for $os (Linux and macOS only)" ;;
  esac
  case $arch in
    x86_64|amd64) arch=x64 ;;
    aarch64|arm64) arch=arm64 ;;
    *) fail "there is no hermes build for the $arch processor (x86_64 and arm64 only)" ;;
  esac
  if [ "$os" = darwin ] && [ "$arch" = x64 ]; then
    # A shell under Rosetta reports x86_64 on Apple silicon; the native build is faster.
    if [ "$(sysctl -n sysctl.proc_translated 2>/dev/null)" = 1 ]; then arch=arm64; fi
  fi
  target=$os-$arch
  if [ "$os" = linux ]; then
    if [ "$arch" = x64 ] && [ -r /proc/cpuinfo ] && ! grep -q avx2 /proc/cpuinfo; then
      target=$target-baseline
    fi
    if is_musl; then target=$target-musl; fi
  fi
}

is_musl() {
  if [ -f /etc/alpine-release ]; then return 0; fi
  if command -v ldd >/dev/null 2>&1 && ldd --version 2>&1 | grep -qi musl; then return 0; fi
  return 1
}

# Sets version: HERMES_VERSION without a leading v, else latest.txt of the release site.
resolve_version() {
  if [ -n "${HERMES_VERSION:-}" ]; then
    version=${HERMES_VERSION#v}
  else
    fetch "$base/latest.txt" "$work/latest.txt" || fail "could not read $base/latest.txt: $fetch_error"
    version=$(tr -d ' \t\r\n' <"$work/latest.txt")
    version=${version#v}
  fi
  case $version in
    ''|*[!0-9A-Za-z.+-]*) fail "\"$version\" is not a hermes version (e.g. 0.1.0)" ;;
  esac
}

# fetch URL FILE: downloads with curl, else wget; on failure sets fetch_error and returns 1.
fetch() {
  fetch_error=
  if command -v curl >/dev/null 2>&1; then
    proto=
    case $1 in https://*) proto='=https' ;; esac
    if [ -n "$proto" ]; then
      code=$(curl --proto "$proto" --tlsv1.2 -sSL --retry 2 -o "$2" -w '%{http_code}' "$1" 2>"$work/fetch.err")
    else
      code=$(curl -sSL --retry 2 -o "$2" -w '%{http_code}' "$1" 2>"$work/fetch.err")
    fi
    status=$?
    if [ "$status" -eq 0 ] && [ "$code" = 200 ]; then return 0; fi
    if [ "$status" -eq 0 ]; then fetch_error="the server answered HTTP $code"; else fetch_error=$(tail -n 1 "$work/fetch.err"); fi
    return 1
  fi
  if command -v wget >/dev/null 2>&1; then
    if wget -q -O "$2" "$1" 2>"$work/fetch.err"; then return 0; fi
    fetch_error=$(tail -n 1 "$work/fetch.err")
    if [ -z "$fetch_error" ]; then fetch_error='wget failed (is there an HTTP error such as 404?)'; fi
    return 1
  fi
  fail "this installer needs curl or wget, and neither is installed"
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  else
    fail "this installer needs sha256sum or shasum to check the download, and neither is installed"
  fi
}

# Sets expected: the SHA256SUMS entry for the artifact.
expected_sum() {
  expected=
  while read -r sum name; do
    if [ "$name" = "$artifact" ] || [ "$name" = "*$artifact" ]; then expected=$sum; fi
  done <"$work/SHA256SUMS"
  if [ -z "$expected" ]; then
    fail "SHA256SUMS of hermes $version has no entry for $artifact: there is no build for $target, so nothing was installed (HERMES_TARGET picks another)"
  fi
}

# Sets dir: HERMES_INSTALL_DIR, else /usr/local/bin for root, else ~/.local/bin.
install_dir() {
  if [ -n "${HERMES_INSTALL_DIR:-}" ]; then
    dir=$HERMES_INSTALL_DIR
  elif [ "$(id -u)" = 0 ]; then
    dir=/usr/local/bin
  else
    [ -n "${HOME:-}" ] || fail "HOME is not set: set HERMES_INSTALL_DIR to say where hermes goes"
    dir=$HOME/.local/bin
  fi
  case $dir in
    /*) ;;
    *) dir=$(pwd)/$dir ;;
  esac
  mkdir -p "$dir" || fail "cannot create $dir"
}

# Adds dir to PATH in the startup files of the user's shell, once, unless it is on PATH already.
edit_path() {
  if [ "${HERMES_NO_MODIFY_PATH:-}" = 1 ]; then return; fi
  case ":${PATH:-}:" in *":$dir:"*) return ;; esac
  case $dir in
    *[\'\"\\\$\`]*)
      say "not adding $dir to PATH: it has quotes or \$ in it; add it yourself"
      return
      ;;
  esac
  line="case \":\${PATH}:\" in *\":$dir:\"*) ;; *) export PATH=\"$dir:\$PATH\" ;; esac $PATH_MARKER"
  add_line "$HOME/.profile" "$line"
  case ${SHELL:-} in
    */bash)
      add_line "$HOME/.bashrc" "$line"
      # A login bash reads .bash_profile instead of .profile when it exists.
      if [ -f "$HOME/.bash_profile" ]; then add_line "$HOME/.bash_profile" "$line"; fi
      ;;
    */zsh) add_line "${ZDOTDIR:-$HOME}/.zshrc" "$line" ;;
    */fish)
      mkdir -p "$HOME/.config/fish"
      add_line "$HOME/.config/fish/config.fish" "fish_add_path -g '$dir' $PATH_MARKER"
      ;;
  esac
  path_note="open a new shell (or run: export PATH=\"$dir:\$PATH\") to use hermes"
}

add_line() {
  if [ -f "$1" ] && grep -qF -- "$2" "$1"; then return; fi
  if printf '%s\n' "$2" >>"$1"; then
    say "added $dir to PATH in $1"
  else
    say "could not write $1: add $dir to PATH yourself"
  fi
}

main() {
  base=
  target=
  version=
  work=
  staged=
  path_note=
  detect_target
  if [ "${HERMES_INSTALL_PRINT_TARGET:-}" = 1 ]; then
    printf '%s\n' "$target"
    return 0
  fi
  resolve_base
  need mktemp
  need gzip
  command -v sha256sum >/dev/null 2>&1 || command -v shasum >/dev/null 2>&1 ||
    fail "this installer needs sha256sum or shasum to check the download, and neither is installed"
  trap cleanup EXIT
  trap 'exit 1' INT TERM
  work=$(mktemp -d) || fail "cannot create a temporary directory"
  resolve_version
  artifact=hermes-$target.gz
  say "installing hermes $version ($target) from $base"

  fetch "$base/$version/SHA256SUMS" "$work/SHA256SUMS" ||
    fail "could not download $base/$version/SHA256SUMS: $fetch_error (is there a hermes $version?)"
  expected_sum
  fetch "$base/$version/$artifact" "$work/$artifact" ||
    fail "could not download $base/$version/$artifact: $fetch_error (no build of hermes $version for $target?)"
  actual=$(sha256_of "$work/$artifact")
  if [ "$actual" != "$expected" ]; then
    fail "checksum mismatch for $artifact: SHA256SUMS expects $expected, the download is $actual; nothing was installed"
  fi

  install_dir
  # Unpacked next to its final place, so the last step is a rename within one filesystem: atomic, and a
  # running gateway keeps the file it started from.
  staged=$dir/.hermes.new.$$
  gzip -dc "$work/$artifact" >"$staged" || fail "cannot unpack $artifact into $dir"
  chmod 755 "$staged" || fail "cannot make $staged executable"
  said=$("$staged" --version </dev/null 2>&1) ||
    fail "the downloaded hermes does not run on this machine ($said); nothing was installed (HERMES_TARGET picks another build)"
  if [ "$said" != "hermes $version" ]; then
    fail "the downloaded binary says \"$said\", not \"hermes $version\"; nothing was installed"
  fi

  if [ -f "$dir/hermes" ] && [ "$(sha256_of "$dir/hermes")" = "$(sha256_of "$staged")" ]; then
    say "hermes $version is already installed at $dir/hermes; nothing changed"
  else
    upgraded=
    if [ -f "$dir/hermes" ]; then upgraded=1; fi
    mv -f "$staged" "$dir/hermes" || fail "cannot move hermes into $dir"
    staged=
    say "installed hermes $version to $dir/hermes"
    if [ -n "$upgraded" ]; then
      say "a gateway already running keeps the old version until it restarts: hermes gateway restart"
    fi
  fi
  edit_path
  if [ -n "$path_note" ]; then say "$path_note"; fi
  say "next:"
  say "  hermes lint config       check ~/.hermes/config.yaml (or --home DIR)"
  say "  hermes install-service   run the gateway under systemd"
}

main "$@"
