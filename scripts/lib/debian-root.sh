# Sourced: a Debian root of another suite on this host, made the way sbuild
# and pbuilder make theirs (debootstrap), cached, entered with chroot.
#
#   root_ensure SUITE NAME PACKAGES...   sets ROOT_DIR: the root for SUITE
#        with PACKAGES installed (a word "build-dep:SRC" installs the build
#        dependencies of source package SRC, with deb-src enabled). NAME says
#        what the root is for (wine, proton, ...). Cached under
#        ${WW_ROOTS:-/var/cache/writewatch/roots}/SUITE-NAME-KEY, KEY a hash
#        of the suite, the packages and this file: a change makes a new root.
#   root_run ROOT [--bind DIR]... [--cd DIR] [--env NAME=VALUE]... -- COMMAND...
#        runs COMMAND in ROOT as root, with /proc, /sys, /dev, /dev/pts and
#        /dev/shm, and each DIR bind-mounted at its own path (so a host path
#        means the same inside); the working directory is DIR of --cd (or /).
#        The environment inside is PATH, HOME, TERM, LANG plus the --env ones.
#
# Mounts: root_run works in a mount namespace of its own (unshare --mount,
# propagation private): every mount it makes lives in that namespace only and
# goes away with it, whatever happens (a failure, a signal, a kill -9); the
# host never sees them. Inside, a trap unmounts them on exit as well.
#
# Needs die and log from the caller (scripts/lib/fail-loudly.sh has die).
ROOT_LIB=${BASH_SOURCE[0]}
ROOT_MIRROR=${WW_DEBIAN_MIRROR:-http://deb.debian.org/debian}
ROOTS=${WW_ROOTS:-/var/cache/writewatch/roots}

root_key() { # SUITE PACKAGES...
    { echo "suite $1"; shift; printf 'package %s\n' "$@"; cat "$ROOT_LIB"; } | sha256sum | cut -c1-16
}

root_ensure() {
    local suite=$1 name=$2 key dir t0=$SECONDS
    shift 2
    command -v debootstrap >/dev/null || apt_install_host debootstrap
    key=$(root_key "$suite" "$@")
    dir=$ROOTS/$suite-$name-$key
    ROOT_DIR=$dir
    mkdir -p "$ROOTS"
    exec 8>"$ROOTS/.lock-$suite-$name"
    flock -n 8 || { log "waiting for another user of $dir"; flock 8; }
    if [ -f "$dir/.ww-done" ]; then
        log "cached Debian $suite root $dir"
        exec 8>&-
        return 0
    fi
    [ "$(id -u)" = 0 ] || die "root_ensure: making a Debian root needs root"
    rm -rf "$dir.tmp"
    log "debootstrap $suite into $dir (minbase; progress in $dir.log)"
    # In two stages, so that dpkg in the root runs without an fsync per file
    # from the start: the root is a cache that is made again when lost, and
    # those fsyncs were a large part of making it. The second stage mounts
    # /proc and /sys in the root: in a mount namespace of its own, so they
    # cannot stay behind on the host.
    debootstrap --variant=minbase --foreign "$suite" "$dir.tmp" "$ROOT_MIRROR" >"$dir.log" 2>&1 ||
        { tail -20 "$dir.log" >&2; die "debootstrap $suite failed (log: $dir.log)"; }
    mkdir -p "$dir.tmp/etc/dpkg/dpkg.cfg.d"
    echo force-unsafe-io >"$dir.tmp/etc/dpkg/dpkg.cfg.d/writewatch-unsafe-io"
    unshare --mount --propagation private -- chroot "$dir.tmp" /debootstrap/debootstrap --second-stage >>"$dir.log" 2>&1 ||
        { tail -20 "$dir.log" >&2; die "debootstrap $suite (second stage) failed (log: $dir.log)"; }
    log "debootstrap done in $((SECONDS - t0)) s"
    # deb and deb-src of the suite (debootstrap writes only deb).
    printf 'Types: deb deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        "$ROOT_MIRROR" "$suite" >"$dir.tmp/etc/apt/sources.list.d/debian.sources"
    rm -f "$dir.tmp/etc/apt/sources.list"
    # Packages never start services inside the root.
    printf '#!/bin/sh\nexit 101\n' >"$dir.tmp/usr/sbin/policy-rc.d"
    chmod 755 "$dir.tmp/usr/sbin/policy-rc.d"
    local plain=() build_deps=() p
    for p in "$@"; do
        case "$p" in build-dep:*) build_deps+=("${p#build-dep:}") ;; *) plain+=("$p") ;; esac
    done
    local apt='export DEBIAN_FRONTEND=noninteractive; apt-get -q -o Dpkg::Use-Pty=0'
    local script="$apt update"
    [ ${#plain[@]} -eq 0 ] || script="$script && $apt install -y --no-install-recommends ${plain[*]}"
    for p in "${build_deps[@]}"; do script="$script && $apt build-dep -y --no-install-recommends $p"; done
    script="$script && apt-get clean"
    log "installing into the $suite root: ${*} (log: $dir.log)"
    root_run "$dir.tmp" -- sh -c "$script" >>"$dir.log" 2>&1 ||
        { tail -30 "$dir.log" >&2; die "installing packages into the $suite root failed (log: $dir.log)"; }
    touch "$dir.tmp/.ww-done"
    mv "$dir.tmp" "$dir"
    log "Debian $suite root ready in $((SECONDS - t0)) s: $dir ($(du -sh "$dir" 2>/dev/null | cut -f1))"
    exec 8>&-
}

# apt_install_host PACKAGE...: on the host, for the tools this file runs.
apt_install_host() {
    [ "$(id -u)" = 0 ] || die "not root: install $* first"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null; } ||
        die "apt-get install $* failed"
}

root_run() {
    local root=$1 binds=() envs=() cwd=/
    shift
    while [ $# -gt 0 ]; do
        case "$1" in
        --bind) binds+=("$2"); shift 2 ;;
        --cd) cwd=$2; shift 2 ;;
        --env) envs+=("$2"); shift 2 ;;
        --) shift; break ;;
        *) die "root_run: unknown option $1" ;;
        esac
    done
    [ $# -gt 0 ] || die "root_run: no command"
    [ -d "$root" ] || die "root_run: no root at $root"
    # The inner script: mounts, a trap that unmounts them in reverse order,
    # then the command under chroot with a clean environment.
    unshare --mount --propagation private -- bash -c '
        root=$1; nbinds=$2; shift 2
        mounted=()
        cleanup() { local i; for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null; done; }
        trap cleanup EXIT
        mnt() { mkdir -p "$2" && mount "${@:3}" "$1" "$2" && mounted+=("$2"); }
        mnt proc "$root/proc" -t proc || exit 125
        mnt sysfs "$root/sys" -t sysfs || exit 125
        mnt /dev "$root/dev" --rbind || exit 125
        mount --make-rslave "$root/dev"
        mnt devpts "$root/dev/pts" -t devpts -o newinstance,ptmxmode=0666 2>/dev/null || true
        mnt tmpfs "$root/dev/shm" -t tmpfs || exit 125
        for ((i = 0; i < nbinds; i++)); do
            d=$1; shift
            mnt "$d" "$root$d" --bind || { echo "root_run: cannot bind $d" >&2; exit 125; }
        done
        cwd=$1; shift
        nenv=$1; shift
        env_args=()
        for ((i = 0; i < nenv; i++)); do env_args+=("$1"); shift; done
        cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null
        chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
            HOME="${HOME:-/root}" TERM="${TERM:-dumb}" LANG=C.UTF-8 "${env_args[@]}" \
            sh -c "cd \"\$0\" && exec \"\$@\"" "$cwd" "$@"
    ' root-run "$root" ${#binds[@]} "${binds[@]}" "$cwd" ${#envs[@]} "${envs[@]}" "$@"
}
