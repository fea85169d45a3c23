# rram_curve.gp - RRAM.md §5: read conductance after a SET pulse (-1.2 V,
# 1 us, from HRS) vs compliance current, for the caption's three filament
# geometries, under both programming schemes. Reads the CSVs of
# `bruno-bench rram curve` from dir; writes rram_curve.png and .svg there.
# Left: each device SET under I_cc. Right: fixed N per state - the nominal
# device is SET under I_cc and every geometry is read at that same N (x is
# the nominal device's programming current).
if (!exists("dir")) dir = "results/rram"
set datafile separator ","
geoms = "mean upper lower"
label(g) = g eq "mean" ? "mean 45 nm / 0.40 nm" : (g eq "upper" ? "upper 49 nm / 0.36 nm" : "lower 41 nm / 0.44 nm")
colour(g) = g eq "mean" ? "#000000" : (g eq "upper" ? "#d62728" : "#1f77b4")
do for [fmt in "png svg"] {
    if (fmt eq "png") { set terminal pngcairo size 1300,520 enhanced font "Sans,11" } else { set terminal svg size 1300,520 enhanced font "Sans,11" }
    set output dir."/rram_curve.".fmt
    set multiplot layout 1,2 title "RRAM (JART VCM v1b): read conductance at +0.2 V after a -1.2 V, 1 {/Symbol m}s SET pulse"
    set xlabel "programming (compliance) current I_{cc} [{/Symbol m}A]"
    set ylabel "G_{read} [{/Symbol m}S]"
    set grid
    set key left top
    set yrange [0:700]
    set title "compliance programming (each device SET under I_{cc})"
    plot for [g in geoms] dir."/curve_compliance_".g.".csv" every ::1 using ($1*1e6):($2*1e6) \
         with linespoints pt 7 ps 0.4 lw 1.5 lc rgb colour(g) title label(g)
    set title "fixed N per state (device read at the N the nominal device reaches)"
    plot for [g in geoms] dir."/curve_fixed-n_".g.".csv" every ::1 using ($1*1e6):($2*1e6) \
         with linespoints pt 7 ps 0.4 lw 1.5 lc rgb colour(g) title label(g)
    unset multiplot
    set output
}
