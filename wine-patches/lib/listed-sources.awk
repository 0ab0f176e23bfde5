# Reads Wine Makefile.in files and prints one line per file that a source
# variable (SOURCES, C_SRCS, IDL_SRCS, SVG_SRCS, ...) lists:
#   <makefile dir> TAB <PARENTSRC dir or "."> TAB <file>
# build-wine.sh uses it to find the files that Debian's repacked tarball
# lacks: makedep refuses to write the Makefile while any listed file is
# missing, whether or not that module is ever built.
FNR == 1 { flush(); dir = FILENAME; sub(/\/?Makefile\.in$/, "", dir); parent = "."; in_list = 0 }
/^PARENTSRC[ \t]*=/ { parent = $3 }
{
    line = $0
    if (!in_list) {
        if (line !~ /^[A-Z_]*(SOURCES|SRCS)[ \t]*=/) next
        in_list = 1
        sub(/^[A-Z_]*(SOURCES|SRCS)[ \t]*=/, "", line)
    }
    more = (line ~ /\\$/)
    sub(/\\$/, "", line)
    n = split(line, word, /[ \t]+/)
    for (i = 1; i <= n; i++) if (word[i] != "") listed[++count] = word[i]
    if (!more) in_list = 0
}
function flush(   i) {
    for (i = 1; i <= count; i++) print (dir == "" ? "." : dir) "\t" parent "\t" listed[i]
    count = 0
}
END { flush() }
