#!/bin/bash
# sandbox.sh: boot this machine's real systemd (/lib/systemd/systemd) as PID 1 of a private
# PID/mount/UTS/IPC/cgroup (and, unless --share-net, network) namespace with a minimal unit set, so
# that hermes' units are tested end to end on a machine where systemd is not PID 1 (CI VMs).
# Adapted from the project's systemd findings (§3); test/systemd/harness.ts drives it.
#
#   sandbox.sh check                       exit 0 when this machine can run a sandbox, else 1 and the reason
#   sandbox.sh start [opts]                boot; prints NAME once systemd reports running (or degraded)
#   sandbox.sh info NAME                   KEY=VALUE lines: STATE, CGROUP, PID1 (host pids), LAUNCHER, ...
#   sandbox.sh install NAME FILE|DIR...    copy unit files and drop-in dirs into the unit dir, daemon-reload
#   sandbox.sh exec NAME CMD [ARGS...]     run CMD inside every namespace of the sandbox
#   sandbox.sh shell NAME                  interactive shell inside
#   sandbox.sh stop NAME                   poweroff, cgroup.kill, clean up (--keep: journal to $STATE/journal.txt)
#   sandbox.sh list                        sandboxes under $HERMES_SDSB_ROOT
#
# start options:
#   --name NAME          default sdsb-<pid>
#   --max-life SECONDS   hard bound on the lifetime (default 300): then the namespace's PID 1 is SIGKILLed,
#                        the kernel kills everything in the namespace, and the sandbox is cleaned up
#   --bind SRC[:DST]     bind a host path read-write; --bind-ro SRC[:DST] read-only. A missing DST is created
#                        only on a tmpfs of the sandbox (see --tmpfs), never on the host's disk
#   --tmpfs DIR          an empty tmpfs over an existing directory (/opt, /srv)
#   --share-net          keep the host's network namespace (default: a private one with only lo)
#   --keep               keep $STATE (journal.txt, console.log) after stop
#
# Inside: / is the host's root remounted read-only for this mount namespace only; tmpfs on /run /tmp
# /var/tmp /var/lib /var/cache /var/log and on /etc/systemd/system (host units hidden; an installer can write
# there and `systemctl enable --now` works); a private /dev whose console is $STATE/console.log (PID 1 never
# writes to the host's console); /proc/sys and /sys read-only; no generators; its own cgroup2 subtree.
# Not a security boundary: it keeps well-behaved tests from touching the host.
set -euo pipefail

SDSB_ROOT=${HERMES_SDSB_ROOT:-/tmp/hermes-systemd-sandbox}
SYSTEMD_BIN=${SYSTEMD_BIN:-/lib/systemd/systemd}
SYSUNITS=${SYSUNITS:-/lib/systemd/system}
SELF=$(readlink -f "$0")

die() { echo "sandbox.sh: $*" >&2; exit 1; }
log() { echo "sandbox.sh: $*" >&2; }

state_of() { echo "$SDSB_ROOT/$1"; }

find_cgroup2_root() {
  if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then echo /sys/fs/cgroup
  elif [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then echo /sys/fs/cgroup/unified
  else return 1; fi
}

# Why this machine cannot run a sandbox, or nothing.
missing() {
  [ "$(id -u)" = 0 ] || { echo "not root (the sandbox needs root to create namespaces and mounts)"; return; }
  [ -x "$SYSTEMD_BIN" ] || { echo "$SYSTEMD_BIN is missing (install the systemd package)"; return; }
  find_cgroup2_root >/dev/null || { echo "no cgroup2 hierarchy is mounted"; return; }
  local tool
  for tool in unshare nsenter timeout setsid flock; do
    command -v "$tool" >/dev/null || { echo "$tool is missing (util-linux / coreutils)"; return; }
  done
  unshare --help 2>&1 | grep -q -- --kill-child || { echo "unshare has no --kill-child (util-linux too old)"; return; }
}

cmd_check() {
  local why; why=$(missing)
  [ -z "$why" ] || { echo "$why"; exit 1; }
  [ -d /run/systemd/system ] && echo "note: this host runs systemd as PID 1; the sandbox still works, units go to its own cgroup"
  exit 0
}

# Host PID of the namespace's PID 1: the child of unshare.
pid1_of() {
  local st; st=$(state_of "$1")
  [ -s "$st/unshare.pid" ] || return 1
  local u c; u=$(cat "$st/unshare.pid")
  c=$(awk '{print $1}' "/proc/$u/task/$u/children" 2>/dev/null) || return 1
  [ -n "$c" ] || return 1
  echo "$c"
}

write_units() { # $1 = unit dir: the boot targets without their .wants, journald, dbus, sandbox.target
  local U=$1 u
  mkdir -p "$U/sockets.target.wants" "$U/sysinit.target.wants" "$U/sandbox.target.wants"
  for u in sysinit.target basic.target sockets.target paths.target timers.target slices.target \
           local-fs.target local-fs-pre.target swap.target shutdown.target umount.target final.target \
           poweroff.target halt.target reboot.target exit.target network.target network-online.target \
           network-pre.target nss-lookup.target nss-user-lookup.target remote-fs.target time-sync.target \
           systemd-poweroff.service systemd-halt.service systemd-reboot.service systemd-exit.service \
           systemd-journald.service systemd-journald.socket systemd-journald-dev-log.socket \
           systemd-journald-audit.socket; do
    if [ -e "$SYSUNITS/$u" ]; then cp "$SYSUNITS/$u" "$U/$u"; fi
  done
  ln -sf ../systemd-journald.socket ../systemd-journald-dev-log.socket "$U/sockets.target.wants/"
  ln -sf ../systemd-journald.service "$U/sysinit.target.wants/"
  # The system bus, socket-activated, so that systemd-run --wait/--pipe and busctl work.
  if [ -e "$SYSUNITS/dbus.service" ] && [ -e "$SYSUNITS/dbus.socket" ] && [ -x /usr/bin/dbus-daemon ]; then
    cp "$SYSUNITS/dbus.service" "$SYSUNITS/dbus.socket" "$U/"
    ln -sf ../dbus.socket "$U/sockets.target.wants/"
  fi
  cat > "$U/sandbox.target" <<'EOF'
[Unit]
Description=hermes systemd sandbox: minimal default target
Requires=basic.target
After=basic.target
AllowIsolate=yes
EOF
  # WantedBy=multi-user.target is what installers write: this stub makes `systemctl enable` meaningful.
  cat > "$U/multi-user.target" <<'EOF'
[Unit]
Description=Multi-User System (sandbox)
Requires=basic.target
After=basic.target
AllowIsolate=yes
EOF
  ln -sf ../multi-user.target "$U/sandbox.target.wants/multi-user.target"
}

write_inner() { # $1 = state dir. Both stages run as PID 1 of the new PID namespace (exec keeps the PID).
  local ST=$1
  cat > "$ST/inner.sh" <<'EOF'
#!/bin/bash
# stage 1: move into the sandbox's own cgroup2 directory, then unshare the cgroup namespace from there
set -eu
ST="$1"; CG="$2"
echo 0 > "$CG/cgroup.procs"
exec unshare --cgroup -- /bin/bash "$ST/inner2.sh" "$ST"
EOF
  cat > "$ST/inner2.sh" <<'EOF'
#!/bin/bash
# stage 2: build the private filesystem view, then exec systemd
set -eu
ST="$1"
. "$ST/config.sh"
# Keep handles on host paths the tmpfs mounts below would hide.
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mkdir -p /run/sandbox /run/sandbox-binds
mount --bind "$ST" /run/sandbox
i=0
for b in "${BINDS[@]}"; do
  src=${b%%|*}
  if [ -d "$src" ]; then mkdir -p /run/sandbox-binds/$i; else touch /run/sandbox-binds/$i; fi
  mount --bind "$src" /run/sandbox-binds/$i
  i=$((i+1))
done
for d in /tmp /var/tmp /var/lib /var/cache /var/log; do
  if [ -d "$d" ]; then mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$d"; fi
done
chmod 1777 /tmp /var/tmp
mkdir -p /var/log/journal /var/lib/systemd
# An empty, writable /etc/systemd/system: the host's enabled units are hidden, enable/edit work.
if [ -d /etc/systemd/system ]; then mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /etc/systemd/system; fi
for t in "${TMPFS[@]}"; do mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$t"; done
# The state dir at the same path as on the host.
mkdir -p "$ST"; mount --bind /run/sandbox "$ST"
i=0
for b in "${BINDS[@]}"; do
  rest=${b#*|}; dst=${rest%%|*}; mode=${rest#*|}
  if [ ! -e "$dst" ]; then
    # Mount points are created only on a tmpfs of the sandbox, never on the host's disk.
    anc=$(dirname "$dst"); while [ ! -e "$anc" ]; do anc=$(dirname "$anc"); done
    if [ "$(stat -fc %T "$anc")" != tmpfs ]; then
      echo "bind target $dst does not exist and its parent is not a tmpfs (add --tmpfs on a parent)" >&2; exit 1
    fi
    if [ -d "/run/sandbox-binds/$i" ]; then mkdir -p "$dst"; else mkdir -p "$(dirname "$dst")"; touch "$dst"; fi
  fi
  mount --bind "/run/sandbox-binds/$i" "$dst"
  if [ "$mode" = ro ]; then mount -o remount,bind,ro "$dst"; fi
  i=$((i+1))
done
# A private /dev; its console is a file, so PID 1 never writes to the host's console.
D=/run/sandbox-dev; mkdir -p $D
mount -t tmpfs -o mode=0755,nosuid tmpfs $D
for n in null zero full random urandom tty; do touch $D/$n; mount --bind /dev/$n $D/$n; done
mkdir -p $D/pts $D/shm $D/mqueue
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts $D/pts
ln -s pts/ptmx $D/ptmx
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs $D/shm
mount -t mqueue mqueue $D/mqueue
ln -s /proc/self/fd $D/fd; ln -s /proc/self/fd/0 $D/stdin; ln -s /proc/self/fd/1 $D/stdout; ln -s /proc/self/fd/2 $D/stderr
touch $D/console /run/sandbox/console.log; mount --bind /run/sandbox/console.log $D/console
mount --move $D /dev
# In its own cgroup namespace, this cgroup2 mount shows only the sandbox's subtree.
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup
# No generators: fstab, getty or sysv would add the host's units.
mkdir -p /run/sandbox-empty
for g in /usr/lib/systemd/system-generators /lib/systemd/system-generators /etc/systemd/system-generators /usr/local/lib/systemd/system-generators; do
  if [ -d "$g" ]; then mount --bind /run/sandbox-empty "$g"; fi
done
# Read-only host views. remount,bind changes this mount's flags only, never the host's superblock; a
# read-only /proc/sys also keeps PID 1 from raising the host's fs.file-max and fs.nr_open.
mount --bind /proc/sys /proc/sys; mount -o remount,bind,ro /proc/sys
if [ -e /proc/sysrq-trigger ]; then mount --bind /proc/sysrq-trigger /proc/sysrq-trigger; mount -o remount,bind,ro /proc/sysrq-trigger; fi
mount -o remount,bind,ro,nosuid,nodev,noexec /sys
mount -o remount,bind,ro /
exec env -i container=hermes-systemd-sandbox SYSTEMD_UNIT_PATH="/etc/systemd/system:/run/systemd/system:$ST/units" \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
  "$SYSTEMD_BIN" --unit=sandbox.target --show-status=no --log-level="$SDSB_LOG_LEVEL" \
  </dev/null >/dev/console 2>&1
EOF
  chmod +x "$ST/inner.sh" "$ST/inner2.sh"
}

in_ns() { # NAME CMD...: CMD in every namespace of the sandbox, with a clean environment
  local name=$1; shift
  local p st; st=$(state_of "$name")
  p=$(pid1_of "$name") || die "sandbox $name is not running"
  nsenter -t "$p" -m -u -i -n -p -C --wd=/ -- env -i \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 TERM="${TERM:-dumb}" \
    SYSTEMD_UNIT_PATH="/etc/systemd/system:/run/systemd/system:$st/units" SYSTEMD_PAGER= SYSTEMD_COLORS=0 \
    SDSB_STATE="$st" "$@"
}

cmd_start() {
  local name="sdsb-$$" maxlife=300 share_net=0 keep=0
  local -a binds=() tmpfs=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --name) name=$2; shift 2 ;;
      --max-life) maxlife=$2; shift 2 ;;
      --bind|--bind-ro)
        local spec=$2 src dst mode=rw; [ "$1" = --bind-ro ] && mode=ro
        src=${spec%%:*}; dst=${spec#*:}; [ "$dst" = "$spec" ] && dst=$src
        [ -e "$src" ] || die "bind source $src is missing"
        src=$(readlink -f "$src")
        case "$dst" in /*) ;; *) die "bind target $dst is not an absolute path" ;; esac
        binds+=("$src|$dst|$mode"); shift 2 ;;
      --tmpfs) [ -d "$2" ] || die "--tmpfs $2: not an existing directory"; tmpfs+=("$2"); shift 2 ;;
      --share-net) share_net=1; shift ;;
      --keep) keep=1; shift ;;
      *) die "unknown option $1" ;;
    esac
  done
  local why; why=$(missing); [ -z "$why" ] || die "$why"
  [[ "$name" =~ ^[A-Za-z0-9_.-]{1,64}$ ]] || die "bad name $name (letters, digits, . _ -)"
  [[ "$maxlife" =~ ^[0-9]+$ ]] && [ "$maxlife" -gt 0 ] || die "--max-life must be a positive number of seconds"
  local st; st=$(state_of "$name")
  [ -e "$st" ] && die "$st exists (a sandbox of that name is running; stop it first)"
  local cgroot; cgroot=$(find_cgroup2_root)
  mkdir -p "$st"; chmod 0755 "$SDSB_ROOT" "$st"
  # Held while booting: a sandbox that dies during boot is cleaned up by this script (which shows its
  # logs first), not by its launcher's reap.
  exec 9>"$SDSB_ROOT/$name.lock"; flock 9
  write_units "$st/units"
  write_inner "$st"
  local cg="$cgroot/hermes-sdsb-$name"
  mkdir "$cg"
  {
    echo "SDSB_LOG_LEVEL=${SDSB_LOG_LEVEL:-info}"
    echo "SYSTEMD_BIN=$(printf %q "$SYSTEMD_BIN")"
    printf 'BINDS=('; for b in ${binds[@]+"${binds[@]}"}; do printf '%q ' "$b"; done; echo ')'
    printf 'TMPFS=('; for b in ${tmpfs[@]+"${tmpfs[@]}"}; do printf '%q ' "$b"; done; echo ')'
  } > "$st/config.sh"
  { echo "CG=$cg"; echo "KEEP=$keep"; echo "MAXLIFE=$maxlife"; } > "$st/host.env"
  local -a nsflags=(--pid --fork --kill-child=SIGKILL --mount --uts --ipc --propagation private --mount-proc)
  [ $share_net = 1 ] || nsflags+=(--net)
  # The launcher bounds the life: after MAXLIFE s, timeout SIGKILLs unshare; --kill-child then SIGKILLs the
  # namespace's PID 1 and the kernel kills every process in the namespace. Then it cleans up (reap).
  {
    echo '#!/bin/bash'
    printf 'timeout -s KILL %q unshare' "$maxlife"; printf ' %q' "${nsflags[@]}"
    printf ' -- /bin/bash %q %q %q &\n' "$st/inner.sh" "$st" "$cg"
    printf 'echo $! > %q\n' "$st/timeout.pid"
    echo 'wait $! || true'
    printf 'HERMES_SDSB_ROOT=%q exec /bin/bash %q reap %q\n' "$SDSB_ROOT" "$SELF" "$name"
  } > "$st/launcher.sh"
  setsid /bin/bash "$st/launcher.sh" >"$st/launcher.log" 2>&1 </dev/null 9>&- &
  echo $! > "$st/launcher.pid"
  local i t="" u=""
  for i in $(seq 1 50); do
    if [ -s "$st/timeout.pid" ]; then
      t=$(cat "$st/timeout.pid")
      u=$(awk '{print $1}' "/proc/$t/task/$t/children" 2>/dev/null) || true
      [ -n "$u" ] && break
      [ -d "/proc/$t" ] || break # unshare already ended: the boot failed
    fi
    sleep 0.1
  done
  [ -n "$u" ] || { cat "$st/launcher.log" "$st/console.log" >&2 2>/dev/null || true; cmd_stop "$name"; die "boot failed (see the lines above)"; }
  echo "$u" > "$st/unshare.pid"
  local t0=$SECONDS s="" p
  while [ $((SECONDS - t0)) -lt 30 ]; do
    if p=$(pid1_of "$name") && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = systemd ]; then
      s=$(in_ns "$name" systemctl is-system-running 2>/dev/null) || true
      case "$s" in running|degraded) break ;; esac
    fi
    if ! kill -0 "$u" 2>/dev/null; then s=dead; break; fi
    sleep 0.1
  done
  case "$s" in
    running|degraded) flock -u 9; log "sandbox $name up (systemd is host pid $(pid1_of "$name"), state $s, max life ${maxlife} s)" ;;
    *) cat "$st/launcher.log" "$st/console.log" >&2 2>/dev/null || true; cmd_stop "$name"; die "boot failed (state: ${s:-unknown})" ;;
  esac
  echo "$name"
}

cmd_info() {
  local name=$1 st; st=$(state_of "$name")
  [ -f "$st/host.env" ] || die "no sandbox $name"
  local CG KEEP MAXLIFE; . "$st/host.env"
  echo "STATE=$st"
  echo "CGROUP=$CG"
  echo "MAXLIFE=$MAXLIFE"
  echo "LAUNCHER=$(cat "$st/launcher.pid" 2>/dev/null || true)"
  echo "TIMEOUT=$(cat "$st/timeout.pid" 2>/dev/null || true)"
  echo "UNSHARE=$(cat "$st/unshare.pid" 2>/dev/null || true)"
  echo "PID1=$(pid1_of "$name" || true)"
}

cmd_install() {
  local name=$1; shift
  local st; st=$(state_of "$name")
  [ -d "$st/units" ] || die "no sandbox $name"
  local f
  for f in "$@"; do
    if [ -d "$f" ]; then cp -r "$f" "$st/units/"; else cp "$f" "$st/units/"; fi
  done
  in_ns "$name" systemctl daemon-reload
}

# Kills a recorded launcher pid only while its command line still names this sandbox (pids get reused).
kill_recorded() { # state-dir file
  local st=$1 f=$2 pid
  [ -s "$st/$f" ] || return 0
  pid=$(cat "$st/$f")
  if { tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null | grep -qF "$st/"; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

# Everything left: cgroup.kill on the sandbox's subtree, its directories removed, launcher pids, state.
cleanup() {
  local name=$1 st; st=$(state_of "$name")
  [ -f "$st/host.env" ] || return 0
  local CG KEEP MAXLIFE; . "$st/host.env"
  if [ -d "$CG" ]; then
    if [ -e "$CG/cgroup.kill" ]; then
      echo 1 > "$CG/cgroup.kill" 2>/dev/null || true
    else
      # Kernels before 5.14: kill the subtree's own pids one by one.
      find "$CG" -name cgroup.procs -exec cat {} + 2>/dev/null | while read -r pid; do kill -KILL "$pid" 2>/dev/null || true; done
    fi
    local i
    for i in $(seq 1 50); do
      find "$CG" -depth -type d -exec rmdir {} \; 2>/dev/null || true
      [ -d "$CG" ] || break
      sleep 0.1
    done
    [ -d "$CG" ] && log "warning: could not remove $CG"
  fi
  kill_recorded "$st" unshare.pid
  kill_recorded "$st" timeout.pid
  if [ "$KEEP" = 1 ]; then log "state kept in $st"; else rm -rf "$st"; fi
  rm -f "$SDSB_ROOT/$name.lock"
}

cmd_stop() {
  local name=$1 st; st=$(state_of "$name")
  [ -d "$st" ] || die "no sandbox $name"
  # The launcher would clean up too once unshare ends: this stop does it instead.
  kill_recorded "$st" launcher.pid
  if pid1_of "$name" >/dev/null; then
    if grep -q '^KEEP=1$' "$st/host.env" 2>/dev/null; then
      in_ns "$name" journalctl --no-pager -o short-precise > "$st/journal.txt" 2>&1 || true
    fi
    in_ns "$name" systemctl --no-block poweroff >/dev/null 2>&1 || true
    local u i; u=$(cat "$st/unshare.pid" 2>/dev/null || echo)
    for i in $(seq 1 100); do # up to 10 s for a clean poweroff, then the hard way
      if [ -z "$u" ] || ! kill -0 "$u" 2>/dev/null; then break; fi
      sleep 0.1
    done
    if [ -n "$u" ] && kill -0 "$u" 2>/dev/null; then log "clean poweroff timed out; killing"; fi
  fi
  cleanup "$name"
}

case "${1:-}" in
  check) cmd_check ;;
  start) shift; cmd_start "$@" ;;
  info) shift; cmd_info "$1" ;;
  install) shift; cmd_install "$@" ;;
  exec) shift; name=$1; shift; in_ns "$name" "$@" ;;
  shell) shift; in_ns "$1" /bin/bash -i ;;
  stop) shift; cmd_stop "$1" ;;
  reap) shift; exec 9>"$SDSB_ROOT/$1.lock"; flock 9; cleanup "$1"; rm -f "$SDSB_ROOT/$1.lock" ;;
  list) find "$SDSB_ROOT" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null || true ;;
  *) sed -n '2,28p' "$SELF"; exit 2 ;;
esac
