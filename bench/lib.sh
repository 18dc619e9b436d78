# Sourced by the bench scripts: one way to time a command.
#
# time_run NAME CMD...  runs CMD under /usr/bin/time -v (stdout to out.NAME,
# stderr to log.NAME; a failure prints the log and exits) and appends
# "NAME wall_s cpu_s peak_rss_kb" to ./results.
time_run() {
    local name=$1; shift
    /usr/bin/time -v -o "time.$name" "$@" >"out.$name" 2>"log.$name" || { echo "$name failed:"; cat "log.$name"; exit 1; }
    local wall user sys rss
    wall=$(grep 'Elapsed (wall clock)' "time.$name" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
    user=$(grep 'User time' "time.$name" | awk '{print $NF}')
    sys=$(grep 'System time' "time.$name" | awk '{print $NF}')
    rss=$(grep 'Maximum resident' "time.$name" | awk '{print $NF}')
    echo "$name $wall $(echo "$user + $sys" | bc) $rss" >>results
}
