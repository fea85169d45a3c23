# rram_fit.gp - RRAM.md §3: the closed-form variability-aware read fit
# (Ntinas 2023) against the full static solve, vs the state N, for the
# caption's three geometries. Reads fit.csv of `bruno-bench rram fit` from
# dir; writes rram_fit.png and .svg.
if (!exists("dir")) dir = "results/rram"
set datafile separator ","
colour(g) = g eq "mean" ? "#000000" : (g eq "upper" ? "#d62728" : "#1f77b4")
label(g) = g eq "mean" ? "mean 45 nm / 0.40 nm" : (g eq "upper" ? "upper 49 nm / 0.36 nm" : "lower 41 nm / 0.44 nm")
do for [fmt in "png svg"] {
    if (fmt eq "png") { set terminal pngcairo size 1000,800 enhanced font "Sans,11" } else { set terminal svg size 1000,800 enhanced font "Sans,11" }
    set output dir."/rram_fit.".fmt
    set multiplot layout 2,1 title "RRAM read at +0.2 V: closed-form fit vs full solve"
    set logscale x
    set xrange [0.005:30]
    set format x "10^{%T}"
    set xlabel "N [10^{26} m^{-3}]"
    set grid
    set key left top
    set ylabel "G_{read} [{/Symbol m}S]"
    set title "conductance (lines: full solve, points: fit)"
    plot for [g in "mean upper lower"] dir."/fit.csv" every ::1 using (strcol(1) eq g ? $2 : NaN):($3*1e6) \
             with lines lw 1.5 lc rgb colour(g) title label(g)." full", \
         for [g in "mean upper lower"] dir."/fit.csv" every ::1 using (strcol(1) eq g ? $2 : NaN):($4*1e6) \
             with points pt 6 ps 0.6 lc rgb colour(g) title label(g)." fit"
    set title "relative error of the fit"
    set ylabel "G_{fit}/G_{full} - 1 [%]"
    set key right bottom
    plot for [g in "mean upper lower"] dir."/fit.csv" every ::1 using (strcol(1) eq g ? $2 : NaN):($5*100) \
             with linespoints pt 7 ps 0.4 lw 1.5 lc rgb colour(g) title label(g), 0 with lines lc rgb "#888888" notitle
    unset multiplot
    set output
}
