# rram_states.gp - RRAM.md §6: histograms of the 8 state conductances over
# many devices (device-to-device geometry variability), for both
# programming schemes. Reads states_fixed-n.csv and states_compliance.csv
# of `bruno-bench rram states` from dir; writes rram_states.png and .svg.
if (!exists("dir")) dir = "results/rram"
if (!exists("binw")) binw = 2.0
set datafile separator ","
bin(x) = binw * floor(x / binw) + binw / 2
# (a NaN x to select a state would split the data into one-point blocks,
# which smooth frequency then counts separately: select by weight instead)
set style fill transparent solid 0.55 noborder
set boxwidth binw absolute
do for [fmt in "png svg"] {
    if (fmt eq "png") { set terminal pngcairo size 1200,800 enhanced font "Sans,11" } else { set terminal svg size 1200,800 enhanced font "Sans,11" }
    set output dir."/rram_states.".fmt
    set multiplot layout 2,1 title "RRAM 3-bit device: the 8 states over 1000 devices (radius, disc length uniform {/Symbol \261}10 %)"
    set xlabel "G_{read} [{/Symbol m}S]"
    set ylabel sprintf("devices per %.0f {/Symbol m}S bin", binw)
    set xrange [0:640]
    set grid
    set key outside right top title "state"
    do for [sch in "fixed-n compliance"] {
        set title (sch eq "fixed-n" ? "fixed N per state" : "compliance current per state (each device SET under the nominal device's I_{cc})")
        plot for [k=0:7] dir."/states_".sch.".csv" every ::1 using (bin($3*1e6)):($2 == k ? 1.0 : 0.0) \
             smooth frequency with boxes lc k+1 title sprintf("%d", k)
    }
    unset multiplot
    set output
}
