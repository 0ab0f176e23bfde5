# Sourced by run-vm-tests.sh: one lock per cached build, so that the test
# command's background (--build-only) and a VM run can both ask for the same
# kernel, selftests or project build: the second waits for the first and then
# finds it cached, instead of building it again beside it. A lock is a file
# next to the cache entry; the kernel drops it when its holder exits, so a
# killed or failed build leaves the entry to the next asker. Needs log.

# lock_wait VAR FILE WHAT: waits for the exclusive lock on FILE and stores its
# descriptor in the variable named VAR (for lock_release). WHAT names the
# build in the message printed when the lock is held elsewhere.
lock_wait() {
	local lock_fd
	exec {lock_fd}>"$2"
	if ! flock -n "$lock_fd"; then
		log "waiting for $3 (being built by another process; lock $2)" >&2
		flock "$lock_fd"
	fi
	printf -v "$1" '%s' "$lock_fd"
}

# lock_release FD: gives the lock back.
lock_release() {
	local lock_fd=$1
	exec {lock_fd}>&-
}
