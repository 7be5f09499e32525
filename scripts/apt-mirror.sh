#!/usr/bin/env bash
# Prints the Debian archive mirror this machine's apt uses, for debootstrap: apt-mirror.sh SUITE
#
# Read as apt reads its sources (sources.list(5)): /etc/apt/sources.list (one-line format) and
# /etc/apt/sources.list.d/*.list (one-line) and *.sources (deb822), in that order; files with
# other extensions are ignored, and so are deb822 entries with "Enabled: no", deb-src entries and
# commented lines. The first "deb" entry carrying the "main" component and naming SUITE wins;
# failing that, the first naming the machine's own release (VERSION_CODENAME in /etc/os-release):
# a Debian archive mirror holds every release, so it serves SUITE too. Exit 1 with a message
# when there is none. APT_ETC (default /etc/apt) and OS_RELEASE (default
# /etc/os-release) point elsewhere for tests.
set -euo pipefail

suite=${1:?usage: apt-mirror.sh SUITE}
apt_etc=${APT_ETC:-/etc/apt}
os_release=${OS_RELEASE:-/etc/os-release}

# One "URI<TAB>suite" line per suite of every enabled deb entry with the main component.
entries() {
  local files=()
  [[ -f ${apt_etc}/sources.list ]] && files+=("${apt_etc}/sources.list")
  local f
  for f in "${apt_etc}"/sources.list.d/*.list "${apt_etc}"/sources.list.d/*.sources; do
    [[ -f ${f} ]] && files+=("${f}")
  done
  [[ ${#files[@]} -gt 0 ]] || return 0
  # LC_ALL=C: apt's field names are ASCII and case-insensitive.
  LC_ALL=C awk '
    function flush(   n, i, u, s, nu, ns, uris, suites, comps, hasmain) {
      if (types ~ /(^|[ \t])deb([ \t]|$)/ && enabled !~ /^[ \t]*no[ \t]*$/) {
        n = split(components, comps, /[ \t]+/); hasmain = 0
        for (i = 1; i <= n; i++) if (comps[i] == "main") hasmain = 1
        nu = split(uris_field, uris, /[ \t]+/); ns = split(suites_field, suites, /[ \t]+/)
        if (hasmain) for (u = 1; u <= nu; u++) for (s = 1; s <= ns; s++)
          if (uris[u] != "" && suites[s] != "") print uris[u] "\t" suites[s]
      }
      types = ""; uris_field = ""; suites_field = ""; components = ""; enabled = ""
    }
    FNR == 1 { flush(); deb822 = (FILENAME ~ /\.sources$/) }
    deb822 {
      if ($0 ~ /^[ \t]*#/) next
      if ($0 ~ /^[ \t]*$/) { flush(); next }
      if ($0 ~ /^[ \t]/) next
      key = tolower(substr($0, 1, index($0, ":") - 1)); value = substr($0, index($0, ":") + 1)
      if (key == "types") types = value
      else if (key == "uris") uris_field = value
      else if (key == "suites") suites_field = value
      else if (key == "components") components = value
      else if (key == "enabled") enabled = tolower(value)
      next
    }
    {
      sub(/#.*/, "")
      if ($1 != "deb") next
      line = $0; sub(/^[ \t]*deb[ \t]+/, "", line)
      if (line ~ /^\[/) sub(/^\[[^]]*\][ \t]*/, "", line)
      n = split(line, w, /[ \t]+/)
      if (n < 3) next
      types = "deb"; uris_field = w[1]; suites_field = w[2]; components = ""
      for (i = 3; i <= n; i++) components = components " " w[i]
      flush()
    }
    END { flush() }
  ' "${files[@]}"
}

mapfile -t found < <(entries)
pick() { local line; for line in "${found[@]}"; do [[ ${line#*$'\t'} == "$1" ]] && { echo "${line%%$'\t'*}"; return 0; }; done; return 1; }

if pick "${suite}"; then exit 0; fi
codename=$(sed -n 's/^VERSION_CODENAME=//p' "${os_release}" 2>/dev/null | tr -d '"' | head -1 || true)
if [[ -n ${codename} ]] && pick "${codename}"; then exit 0; fi
echo "apt-mirror.sh: no enabled 'deb' source with component main for ${suite}${codename:+ or ${codename}} in ${apt_etc}/sources.list or ${apt_etc}/sources.list.d/*.{list,sources}" >&2
exit 1
