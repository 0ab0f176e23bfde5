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

# shared_libraries DIR [NAME]: the files of DIR's shared library targets (the
# one named NAME only, when given), one per line.
shared_libraries() {
    meson introspect --targets "$1" | python3 -c '
import json, sys
name = sys.argv[1] if len(sys.argv) > 1 else None
for t in json.load(sys.stdin):
    if t["type"] == "shared library" and name in (None, t["name"]):
        print(t["filename"][0])' ${2:+"$2"}
}

# soname_of FILE: the DT_SONAME of a shared library (empty when it has none).
soname_of() {
    readelf -d "$1" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p'
}
