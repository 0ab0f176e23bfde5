#!/usr/bin/env bash
# The test command's readme-links stage: every markdown link `[text](path)` in
# every README.md of the checkout (build directories, caches and third-party
# trees left out) whose target is a relative path must lead to a file or
# directory that exists. Web links (http, https, mailto) and pure #anchors are
# not checked; a path's #fragment is dropped. Links inside fenced code blocks
# and inline code are not links.
# Prints one line per broken link, then
# "readme-links: N READMEs, N links, N broken"; exits 1 when any is broken.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

readmes=$(find . \( -path './build*' -o -path ./kernel-patches/work -o -name .git \
    -o -name subprojects -o -name node_modules \) -prune -o -name README.md -print | sort)
files=0 links=0 broken=0
for readme in $readmes; do
    files=$((files + 1))
    dir=$(dirname "$readme")
    # line<TAB>target for each inline link outside code
    while IFS=$'\t' read -r line target; do
        links=$((links + 1))
        path=${target%%#*}
        if [ ! -e "$dir/$path" ]; then
            broken=$((broken + 1))
            missing=${dir#./}/$path
            echo "${readme#./}:$line: ($target) leads nowhere: ${missing#./} does not exist"
        fi
    done < <(awk '
        /^[ \t]*(```|~~~)/ { fenced = !fenced; next }
        fenced { next }
        {
            text = $0
            gsub(/`[^`]*`/, "", text)
            while (match(text, /\]\([^) \t]+([ \t]+"[^"]*")?\)/)) {
                target = substr(text, RSTART + 2, RLENGTH - 3)
                sub(/[ \t].*/, "", target)
                gsub(/^<|>$/, "", target)
                text = substr(text, RSTART + RLENGTH)
                if (target ~ /^(https?:|mailto:|#)/) continue
                print NR "\t" target
            }
        }' "$readme")
done
echo "readme-links: $files READMEs, $links links, $broken broken"
[ "$broken" -eq 0 ]
