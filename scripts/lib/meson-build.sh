# Sourced: setup_build DIR [meson options...] configures DIR, or reconfigures
# it when it exists, so that a tool installed since the last run (mingw, Wine)
# is found; a directory left half-configured by a failed run is set up anew.
setup_build() {
    local dir=$1
    shift
    if [ -f "$dir/build.ninja" ]; then
        meson setup --reconfigure "$dir" "$@" >/dev/null || die "meson setup --reconfigure $dir failed"
    else
        rm -rf "$dir"
        meson setup "$dir" "$@" || die "meson setup $dir failed"
    fi
}
